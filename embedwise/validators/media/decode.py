"""Media items and how they are read: images through Pillow, WAV audio through the standard library's `wave`.

A `Media` is a `str` whose value is what the embedding cache keys it by: the text itself for a text query, and
`"image-sha256:<hex>"` / `"audio-sha256:<hex>"` (of the file's bytes, plus `#variant` for a robustness variant) for a
file. So the shared encoder machinery (cache, de-duplication, load test) handles media unchanged, and a re-run on the
same files loads no model. Pillow is imported inside the functions that read images.
"""
from __future__ import annotations

import hashlib
import io
import math
import wave
from pathlib import Path

import numpy as np

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif", ".bmp", ".tif", ".tiff", ".webp")
WAV_SUFFIXES = (".wav", ".wave")
OTHER_AUDIO_SUFFIXES = (".mp3", ".flac", ".ogg", ".m4a", ".aac", ".opus", ".wma")  # recognised, refused with a reason

HUGE_SIDE = 4000  # a 12-megapixel phone photo's long side
TINY_SIDE = 16
JPEG_QUALITY = 15
SHORT_SECONDS = 0.05
LONG_SECONDS = 300.0


class MediaError(Exception):
    """A file that cannot be read as the image or audio it should be; the message is the reason."""


class Media(str):
    """A query or document: a text (`kind` "text") or a file (`kind` "image"/"audio", read from `path` or `data`)."""

    kind: str
    path: Path | None
    data: bytes | None
    variant: str | None

    def __new__(cls, key: str, kind: str, path: Path | None = None, data: bytes | None = None,
                variant: str | None = None) -> Media:
        item = super().__new__(cls, key)
        item.kind, item.path, item.data, item.variant = kind, path, data, variant
        return item

    def __reduce__(self):  # pickled with its attributes (a Ray backend ships items to its actors)
        return (Media, (str(self), self.kind, self.path, self.data, self.variant))

    @classmethod
    def text(cls, text: str) -> Media:
        return cls(text, "text")

    @classmethod
    def file(cls, kind: str, path: Path, raw: bytes) -> Media:
        return cls(f"{kind}-sha256:{hashlib.sha256(raw).hexdigest()}", kind, path=path)

    @classmethod
    def from_bytes(cls, kind: str, raw: bytes, label: str) -> Media:
        """An in-memory file (the robustness edge cases); `label` names it in messages."""
        return cls(f"{kind}-sha256:{hashlib.sha256(raw).hexdigest()}", kind, path=Path(label), data=raw)

    def with_variant(self, variant: str) -> Media:
        """The same file read, then changed by `variant` (see IMAGE_VARIANTS and AUDIO_VARIANTS)."""
        return Media(f"{self}#{variant}", self.kind, self.path, self.data, variant)

    def read_bytes(self) -> bytes:
        if self.data is not None:
            return self.data
        assert self.path is not None
        try:
            return self.path.read_bytes()
        except OSError as exc:
            raise MediaError(f"cannot read the file ({exc.strerror or exc})") from None

    @property
    def label(self) -> str:
        return str(self.path) if self.path is not None else str(self)


def media_kind(path: Path) -> str | None:
    """"image" or "audio" by the file's suffix (any audio format: only WAV is read, the others are refused)."""
    suffix = path.suffix.lower()
    if suffix in IMAGE_SUFFIXES:
        return "image"
    if suffix in WAV_SUFFIXES or suffix in OTHER_AUDIO_SUFFIXES:
        return "audio"
    return None


# --- images ------------------------------------------------------------------------------------------------------------

def _pil():
    try:
        from PIL import Image, ImageOps
    except ImportError:
        raise MediaError("reading images needs Pillow: pip install 'embedwise[media]'") from None
    return Image, ImageOps


def decode_image(raw: bytes):
    """An RGB PIL image (EXIF rotation applied; grayscale, palette, alpha and CMYK converted)."""
    Image, ImageOps = _pil()
    if not raw:
        raise MediaError("the file is empty (0 bytes)")
    try:
        with Image.open(io.BytesIO(raw)) as img:
            img.load()
            img = ImageOps.exif_transpose(img)
            return img.convert("RGB")
    except Image.DecompressionBombError as exc:
        raise MediaError(f"too many pixels to decode safely ({exc})") from None
    except Image.UnidentifiedImageError:
        raise MediaError("not an image Pillow can read (unknown or damaged format)") from None
    except (OSError, ValueError, SyntaxError) as exc:
        raise MediaError(f"damaged image: {exc}") from None


def _resize_long_side(img, side: int):
    w, h = img.size
    scale = side / max(w, h)
    return img.resize((max(1, round(w * scale)), max(1, round(h * scale))))


def _jpeg(img):
    from PIL import Image

    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=JPEG_QUALITY)
    return Image.open(buf).convert("RGB")


IMAGE_VARIANTS = {
    "grayscale": lambda img: img.convert("L").convert("RGB"),
    "tiny": lambda img: _resize_long_side(img, TINY_SIDE),
    "huge": lambda img: _resize_long_side(img, HUGE_SIDE),
    "jpeg": _jpeg,  # as a messenger app recompresses a photo
}


def read_image(item: Media):
    img = decode_image(item.read_bytes())
    return IMAGE_VARIANTS[item.variant](img) if item.variant else img


# --- audio -------------------------------------------------------------------------------------------------------------

def _pcm_to_float(frames: bytes, width: int, channels: int) -> np.ndarray:
    if width == 1:  # 8-bit WAV is unsigned
        x = (np.frombuffer(frames, dtype=np.uint8).astype(np.float32) - 128.0) / 128.0
    elif width == 2:
        x = np.frombuffer(frames, dtype="<i2").astype(np.float32) / 32768.0
    elif width == 3:
        b = np.frombuffer(frames, dtype=np.uint8).reshape(-1, 3).astype(np.int32)
        ints = b[:, 0] | (b[:, 1] << 8) | (b[:, 2] << 16)
        x = (np.where(ints >= 1 << 23, ints - (1 << 24), ints)).astype(np.float32) / float(1 << 23)
    elif width == 4:
        x = np.frombuffer(frames, dtype="<i4").astype(np.float32) / float(1 << 31)
    else:
        raise MediaError(f"unsupported sample width of {width} bytes")
    return x.reshape(-1, channels).mean(axis=1)


def _float_wav(raw: bytes) -> tuple[np.ndarray, int]:
    """IEEE-float WAV (which `wave` does not read) through scipy."""
    from scipy.io import wavfile

    try:
        rate, data = wavfile.read(io.BytesIO(raw))
    except (ValueError, OSError) as exc:
        raise MediaError(f"damaged WAV file: {exc}") from None
    x = np.asarray(data, dtype=np.float32)
    return (x.mean(axis=1) if x.ndim == 2 else x), int(rate)


def decode_wav(raw: bytes) -> tuple[np.ndarray, int]:
    """(mono float32 samples in [-1, 1], sampling rate) of a PCM or float WAV file."""
    if not raw:
        raise MediaError("the file is empty (0 bytes)")
    try:
        with wave.open(io.BytesIO(raw), "rb") as w:
            channels, width, rate = w.getnchannels(), w.getsampwidth(), w.getframerate()
            frames = w.readframes(w.getnframes())
    except wave.Error as exc:
        if "unknown format: 3" in str(exc):
            x, rate = _float_wav(raw)
        else:
            raise MediaError(f"not a WAV file this reader understands ({exc}); convert it with "
                             "`ffmpeg -i IN -c:a pcm_s16le OUT.wav`") from None
    except (EOFError, OSError) as exc:
        raise MediaError(f"damaged WAV file ({exc})" if str(exc) else "damaged WAV file (it ends early)") from None
    else:
        if rate <= 0 or channels <= 0:
            raise MediaError(f"invalid WAV header ({channels} channels at {rate} Hz)")
        usable = len(frames) - len(frames) % (width * channels)
        x = _pcm_to_float(frames[:usable], width, channels)
    if not len(x):
        raise MediaError("no audio samples in the file")
    if not np.isfinite(x).all():
        raise MediaError("the samples contain NaN or infinite values")
    return x, rate


def resample(x: np.ndarray, rate: int, target: int) -> np.ndarray:
    if rate == target:
        return x
    from scipy.signal import resample_poly

    g = math.gcd(rate, target)
    return resample_poly(x, target // g, rate // g).astype(np.float32)


def _clipped(x: np.ndarray, rate: int) -> np.ndarray:
    peak = float(np.abs(x).max()) or 1.0
    return np.clip(x / peak * 8.0, -1.0, 1.0)  # 18 dB over full scale: hard clipping


AUDIO_VARIANTS = {
    "silence": lambda x, rate: np.zeros_like(x),
    "clipped": _clipped,
    "very_short": lambda x, rate: x[: max(1, int(rate * SHORT_SECONDS))],
    "very_long": lambda x, rate: np.tile(x, int(math.ceil(rate * LONG_SECONDS / len(x)))),
}


def read_audio(item: Media, target_rate: int, max_samples: int | None = None) -> np.ndarray:
    """Mono float32 samples at `target_rate`, cut to the first `max_samples` (the model's window): CLAP would otherwise
    pick a random crop of a longer clip, and the same file would not give the same embedding twice."""
    x, rate = decode_wav(item.read_bytes())
    if item.variant:
        x = AUDIO_VARIANTS[item.variant](x, rate)
    if max_samples:
        x = x[: int(math.ceil(max_samples * rate / target_rate))]  # cut before resampling: a long file costs nothing
    return resample(x, rate, target_rate)


def check_bytes(kind: str, raw: bytes, suffix: str = "") -> None:
    """Raise MediaError with the reason when `raw` cannot be read as `kind` ("image" or "audio")."""
    if kind == "image":
        decode_image(raw)
    elif suffix in OTHER_AUDIO_SUFFIXES:
        raise MediaError(f"only WAV audio is read ({suffix} is not); convert it with "
                         "`ffmpeg -i IN -c:a pcm_s16le OUT.wav`")
    else:
        decode_wav(raw)


def open_file(path: Path, kind: str) -> Media:
    """The file as a checked `Media` (read once: hashed and decoded); MediaError with the reason otherwise."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise MediaError("file not found" if isinstance(exc, FileNotFoundError)
                         else f"cannot read the file ({exc.strerror or exc})") from None
    check_bytes(kind, raw, path.suffix.lower())
    return Media.file(kind, path, raw)


def check(item: Media) -> None:
    check_bytes(item.kind, item.read_bytes(), item.path.suffix.lower() if item.path is not None else "")

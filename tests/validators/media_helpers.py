"""Tiny CLIP and CLAP models (random weights, saved and loaded through the real loading code) and small image and WAV
data sets the media tests write: readable files beside damaged, empty, tiny, grayscale, silent and non-WAV ones."""
from __future__ import annotations

import io
import json
import shutil
import wave
from pathlib import Path

import numpy as np

SR = 16_000


def byte_level_alphabet() -> list[str]:
    """GPT-2's byte-to-unicode table (CLIP's and RoBERTa's byte-level BPE start from it)."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    extra = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + extra)
            extra += 1
    return [chr(c) for c in cs]


def build_tiny_clip(folder: Path) -> Path:
    """A 2-layer CLIP (hidden 32, 32x32 images) with a byte-level tokenizer and an image processor, saved as a plain
    transformers folder: sentence-transformers reads it as a text+image model."""
    import torch
    from transformers import (
        CLIPConfig,
        CLIPImageProcessor,
        CLIPModel,
        CLIPProcessor,
        CLIPTokenizer,
    )

    chars = byte_level_alphabet()
    vocab = {c: i for i, c in enumerate(chars)}
    vocab.update({c + "</w>": len(chars) + i for i, c in enumerate(chars)})
    vocab.update({"<|startoftext|>": len(vocab), "<|endoftext|>": len(vocab) + 1})
    tokenizer = CLIPTokenizer(vocab=vocab, merges=[], model_max_length=77)
    assert len(tokenizer("a cat").input_ids) == 6, "the tokenizer did not read the vocabulary"  # bos a c a t eos
    processor = CLIPProcessor(image_processor=CLIPImageProcessor(size={"shortest_edge": 32},
                                                                 crop_size={"height": 32, "width": 32}),
                              tokenizer=tokenizer)
    torch.manual_seed(0)
    config = CLIPConfig(
        text_config={"vocab_size": len(vocab), "hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2,
                     "num_attention_heads": 2, "max_position_embeddings": 77,
                     "bos_token_id": vocab["<|startoftext|>"], "eos_token_id": vocab["<|endoftext|>"],
                     "pad_token_id": vocab["<|endoftext|>"]},
        vision_config={"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2, "num_attention_heads": 2,
                       "image_size": 32, "patch_size": 8},
        projection_dim=16)
    CLIPModel(config).save_pretrained(folder)
    processor.save_pretrained(folder)
    return folder


def build_tiny_clap(folder: Path) -> Path:
    """A CLAP with a 2-stage HTSAT audio tower (16 mel bins, 1 s at 16 kHz) and a 2-layer RoBERTa text tower."""
    import torch
    from transformers import (
        ClapConfig,
        ClapFeatureExtractor,
        ClapModel,
        ClapProcessor,
        RobertaTokenizer,
    )

    vocab = {s: i for i, s in enumerate(["<s>", "<pad>", "</s>", "<unk>", "<mask>"])}
    vocab.update({c: len(vocab) + i for i, c in enumerate(byte_level_alphabet())})
    tokenizer = RobertaTokenizer(vocab=vocab, merges=[], model_max_length=64)
    extractor = ClapFeatureExtractor(feature_size=16, sampling_rate=SR, hop_length=320, max_length_s=1,
                                     fft_window_size=512, frequency_max=8000, truncation="rand_trunc",
                                     padding="repeatpad")
    torch.manual_seed(0)
    config = ClapConfig(
        text_config={"vocab_size": len(vocab), "hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2,
                     "intermediate_size": 64, "max_position_embeddings": 70, "projection_dim": 16},
        audio_config={"num_mel_bins": 16, "spec_size": 32, "window_size": 4, "patch_size": 4, "patch_stride": (4, 4),
                      "depths": (1, 1), "num_attention_heads": (2, 2), "hidden_size": 32,
                      "patch_embeds_hidden_size": 16, "projection_dim": 16},
        projection_dim=16)
    ClapModel(config).save_pretrained(folder)
    ClapProcessor(feature_extractor=extractor, tokenizer=tokenizer).save_pretrained(folder)
    return folder


# --- files -------------------------------------------------------------------------------------------------------------

def pattern_image(seed: int, size: tuple[int, int] = (48, 40), base: tuple[int, int, int] | None = None):
    """A distinct picture per seed: a colour field with blocks of noise."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    color = np.array(base if base is not None else rng.integers(0, 256, 3), dtype=np.int16)
    pixels = color + rng.integers(-40, 40, (size[1] // 8, size[0] // 8, 3))
    pixels = np.kron(pixels, np.ones((8, 8, 1), dtype=np.int16))
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8), "RGB")


def write_png(path: Path, image) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path, format="PNG")
    return path


def wav_bytes(samples: np.ndarray, rate: int = SR, width: int = 2, channels: int = 1) -> bytes:
    x = np.clip(np.asarray(samples, dtype=np.float64), -1.0, 1.0)
    if channels > 1:
        x = np.repeat(x[:, None], channels, axis=1).reshape(-1)
    if width == 1:
        frames = (x * 127 + 128).astype(np.uint8).tobytes()
    elif width == 2:
        frames = (x * 32767).astype("<i2").tobytes()
    elif width == 3:
        ints = (x * (2**23 - 1)).astype("<i4")
        frames = b"".join(int(v).to_bytes(3, "little", signed=True) for v in ints)
    else:
        frames = (x * (2**31 - 1)).astype("<i4").tobytes()
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(width)
        w.setframerate(rate)
        w.writeframes(frames)
    return buf.getvalue()


def tone(freq: float, seconds: float = 0.6, rate: int = SR, seed: int = 0) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    noise = np.random.default_rng(seed).normal(0, 0.02, len(t))
    return 0.5 * np.sin(2 * np.pi * freq * t) + noise


def write_wav(path: Path, samples: np.ndarray, rate: int = SR, width: int = 2, channels: int = 1) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(wav_bytes(samples, rate, width, channels))
    return path


def _write_queries(folder: Path, queries: list[dict], qrels: list[tuple[str, str]]) -> None:
    (folder / "queries.jsonl").write_text("".join(json.dumps(q) + "\n" for q in queries), encoding="utf-8")
    (folder / "qrels.tsv").write_text("query-id\tcorpus-id\tscore\n" + "".join(f"{q}\t{d}\t1\n" for q, d in qrels),
                                      encoding="utf-8")


# --- data sets ---------------------------------------------------------------------------------------------------------

IMAGE_DOCS = 8
TEXT_QUERIES = {"t0": "a red square", "t1": "a blue sky", "t2": "green leaves", "t3": "a dark night"}


def write_image_retrieval(folder: Path) -> Path:
    """corpus/: 8 pictures, a grayscale one, a 1x1 one, a damaged PNG and a README (not an image); queries: 4 texts,
    3 images that are byte copies of corpus pictures, and 1 image whose file is damaged."""
    corpus = folder / "corpus"
    for i in range(IMAGE_DOCS):
        write_png(corpus / f"pic{i}.png", pattern_image(i))
    write_png(corpus / "gray.png", pattern_image(50).convert("L"))
    write_png(corpus / "dot.png", pattern_image(51, (8, 8)).resize((1, 1)))
    (corpus / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40)
    (corpus / "README.txt").write_text("not an image")
    (folder / "queries").mkdir(parents=True)
    for i in range(3):
        shutil.copy(corpus / f"pic{i}.png", folder / "queries" / f"q{i}.png")
    (folder / "queries" / "torn.jpg").write_bytes(b"\xff\xd8\xff\xe0" + b"\x00" * 10)
    queries = [{"_id": q, "text": t} for q, t in TEXT_QUERIES.items()]
    queries += [{"_id": f"i{i}", "image": f"queries/q{i}.png"} for i in range(3)]
    queries.append({"_id": "i_torn", "image": "queries/torn.jpg"})
    qrels = [(f"t{i}", f"pic{i}.png") for i in range(4)] + [(f"i{i}", f"pic{i}.png") for i in range(3)]
    qrels += [("i_torn", "pic5.png"), ("t0", "broken.png"), ("t3", "gray.png")]
    _write_queries(folder, queries, qrels)
    return folder


COLORS = {"red": (220, 30, 30), "blue": (30, 30, 220), "green": (30, 200, 30)}


def write_image_classification(folder: Path, per_label: int = 6) -> Path:
    """images/ + train.csv and test.csv (image,label); one train row names a missing file, one test row a damaged one."""
    rows = {"train": [], "test": []}
    for label, color in COLORS.items():
        for i in range(per_label):
            split = "test" if i >= per_label - 2 else "train"
            name = f"images/{label}{i}.png"
            write_png(folder / name, pattern_image(100 + i + 10 * len(rows[split]), base=color))
            rows[split].append((name, label))
    rows["train"].append(("images/missing.png", "red"))
    (folder / "images" / "bad.png").write_bytes(b"GIF89a broken")
    rows["test"].append(("images/bad.png", "blue"))
    for split, items in rows.items():
        (folder / f"{split}.csv").write_text("image,label\n" + "".join(f"{p},{lab}\n" for p, lab in items))
    return folder


AUDIO_FREQS = (220, 330, 440, 660, 880, 1320)


def write_audio_retrieval(folder: Path) -> Path:
    """corpus/: 6 tones (16-bit), a stereo 24-bit one at 22.05 kHz, an 8-bit one, silence, a 10 ms clip, a damaged WAV
    and an MP3 (refused: only WAV is read); queries: 3 texts and 2 WAV copies of corpus tones."""
    corpus = folder / "corpus"
    for i, f in enumerate(AUDIO_FREQS):
        write_wav(corpus / f"tone{f}.wav", tone(f, 0.4 + 0.1 * i, seed=i))
    write_wav(corpus / "stereo.wav", tone(500, 0.5, rate=22_050), rate=22_050, width=3, channels=2)
    write_wav(corpus / "eight_bit.wav", tone(1000, 0.3), width=1)
    write_wav(corpus / "silence.wav", np.zeros(SR // 2))
    write_wav(corpus / "click.wav", tone(2000, 0.01))
    (corpus / "broken.wav").write_bytes(b"RIFF\x10\x00\x00\x00WAVEjunk")
    (corpus / "song.mp3").write_bytes(b"ID3\x03\x00" + b"\x00" * 64)
    (folder / "queries").mkdir(parents=True)
    for f in AUDIO_FREQS[:2]:
        shutil.copy(corpus / f"tone{f}.wav", folder / "queries" / f"q{f}.wav")
    queries = [{"_id": "t0", "text": "a low hum"}, {"_id": "t1", "text": "a high beep"}, {"_id": "t2", "text": "quiet"}]
    queries += [{"_id": f"a{f}", "audio": f"queries/q{f}.wav"} for f in AUDIO_FREQS[:2]]
    qrels = [("t0", "tone220.wav"), ("t1", "tone1320.wav"), ("t2", "silence.wav"), ("t2", "song.mp3")]
    qrels += [(f"a{f}", f"tone{f}.wav") for f in AUDIO_FREQS[:2]]
    _write_queries(folder, queries, qrels)
    return folder


def write_audio_classification(folder: Path, per_label: int = 8) -> Path:
    """One table, labels.csv (audio,label): low and high tones, split by the loader; one row is a damaged file."""
    rows = []
    for label, base in (("low", 200), ("high", 2000)):
        for i in range(per_label):
            name = f"clips/{label}{i}.wav"
            write_wav(folder / name, tone(base + 15 * i, 0.3, seed=i))
            rows.append((name, label))
    (folder / "clips" / "cut.wav").write_bytes(wav_bytes(tone(300))[:30])
    rows.append(("clips/cut.wav", "low"))
    (folder / "labels.csv").write_text("audio,label\n" + "".join(f"{p},{lab}\n" for p, lab in rows))
    return folder

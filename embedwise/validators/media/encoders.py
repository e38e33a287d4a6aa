"""Encoders for images and audio: CLIP-family models through sentence-transformers (which reads PIL images and texts
from a CLIP folder), CLAP-family models through transformers (`ClapModel` + `ClapProcessor`).

Both take `Media` items (texts or files, see `decode`) through the shared `BaseEncoder` machinery, so the embedding
cache, the load test (`query_once`, `encode_batch`, `count_tokens`) and robustness work on them unchanged. torch,
transformers and sentence-transformers are imported inside `_import`/`_load`.
"""
from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from embedwise.errors import ModelRunError
from embedwise.validators.encoders.base import BaseEncoder
from embedwise.validators.encoders.local import folder_fingerprint, resolve_device
from embedwise.validators.encoders.resolve import _find_record, _record_named_by
from embedwise.validators.media.decode import Media, MediaError, read_audio, read_image

CACHE_VERSION = "media-1"  # bump when the way files are read changes the vectors


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


class MediaEncoder(BaseEncoder):
    """The shared part: texts and files split apart, each side encoded by the subclass, rows put back in order."""

    kind = "dense"
    modality = "image"
    _process_local = (*BaseEncoder._process_local, "tokenizer", "processor")  # a pickled encoder is its spec

    def __init__(self, name: str, source: str, *, record: Any = None, device: str | None = None,
                 trust_remote_code: bool = False, batch_size: int = 32):
        super().__init__()
        self.name, self.source, self.record = name, source, record
        self.model_id = record.id if record is not None else None
        self.device_request, self.device = device, None
        self.trust_remote_code = trust_remote_code
        self.batch_size = batch_size
        self.weights_mb: float | None = None
        self.parameters: int | None = None
        self.model: Any = None
        self.tokenizer: Any = None
        folder = Path(source)
        self.revision = folder_fingerprint(folder) if folder.is_dir() else _hub_revision(source)
        self.max_tokens = (record.max_tokens if record is not None else None) or _configured_max_tokens(folder)

    def cache_key(self, role: str) -> str:
        from embedwise.validators.cache import model_key

        return model_key(self.model_id or self.name, self.revision, self.prefix_for(role), f"{self.kind}|{CACHE_VERSION}")

    def _import(self) -> None:
        try:
            import transformers

            transformers.logging.set_verbosity_error()
            transformers.utils.logging.disable_progress_bar()
        except Exception as exc:
            raise ModelRunError(f"transformers cannot be imported: {type(exc).__name__}: {exc}") from exc

    def _measure_weights(self, model: Any) -> None:
        params = list(model.parameters())
        self.weights_mb = round(sum(p.numel() * p.element_size() for p in params) / 2**20, 1)
        self.parameters = int(sum(p.numel() for p in params))

    def _embed_texts(self, texts: list[str], batch_size: int) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def _embed_files(self, items: list[Media], batch_size: int) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def _encode(self, items: list[str], prefix: str, batch_size: int) -> tuple[np.ndarray, list[int] | None]:
        texts = [i for i, item in enumerate(items) if getattr(item, "kind", "text") == "text"]
        files = [i for i, item in enumerate(items) if getattr(item, "kind", "text") != "text"]
        parts: list[tuple[list[int], np.ndarray]] = []
        try:
            if texts:
                parts.append((texts, self._embed_texts([prefix + str(items[i]) for i in texts], batch_size)))
            if files:
                parts.append((files, self._embed_files([items[i] for i in files], batch_size)))  # type: ignore[misc]
        except (MediaError, ModelRunError):
            raise
        except Exception as exc:
            raise ModelRunError(f"{self.name} failed while encoding: {type(exc).__name__}: {exc}") from exc
        out = np.zeros((len(items), parts[0][1].shape[1] if parts else 0), dtype=np.float32)
        for idx, vecs in parts:
            out[idx] = vecs
        return out, self.count_tokens(items)

    def count_tokens(self, texts: Sequence[str], role: str = "document") -> list[int]:
        """A file counts 1; a text its tokens (the tokenizer loads with the model)."""
        words = [str(t) for t in texts if getattr(t, "kind", "text") == "text"]
        counts = iter(self._text_tokens(words) if words else [])
        return [next(counts) if getattr(t, "kind", "text") == "text" else 1 for t in texts]

    def _text_tokens(self, texts: list[str]) -> list[int]:
        self.load()
        if self.tokenizer is None:
            return [max(1, len(t) // 4) for t in texts]
        ids = self.tokenizer(texts, add_special_tokens=True, truncation=False)["input_ids"]
        return [len(i) for i in ids]

    def describe(self) -> dict:
        d = super().describe()
        d.update({"source": self.source, "device": self.device, "modality": self.modality,
                  "trust_remote_code": self.trust_remote_code, "weights_mb": self.weights_mb,
                  "parameters": self.parameters})
        return d

    def close(self) -> None:
        self.model = self.tokenizer = self.processor = None
        import gc

        gc.collect()


class ClipEncoder(MediaEncoder):
    """A CLIP-family model (CLIP, SigLIP, ...) through sentence-transformers: PIL images and texts."""

    modality = "image"

    def _import(self) -> None:
        super()._import()
        try:
            import sentence_transformers  # noqa: F401
        except Exception as exc:
            raise ModelRunError(f"sentence-transformers cannot be imported: {type(exc).__name__}: {exc}") from exc

    def _load(self) -> None:
        from sentence_transformers import SentenceTransformer

        self.device = resolve_device(self.device_request)
        try:
            self.model = SentenceTransformer(self.source, device=self.device, trust_remote_code=self.trust_remote_code)
        except Exception as exc:
            raise ModelRunError(_load_error(self.name, self.source, exc)) from exc
        supported = list(getattr(self.model, "modalities", None) or ["text", "image"])  # before 5.4: CLIP modules
        if "image" not in supported:
            raise ModelRunError(f"{self.name} does not read images (it reads {', '.join(map(str, supported))})")
        self.reads_text = "text" in supported
        self.tokenizer = getattr(self.model, "tokenizer", None)
        self.dimension = self.model.get_embedding_dimension()
        seq = getattr(self.model, "max_seq_length", None)
        if seq and seq < 1_000_000:
            self.max_tokens = int(seq)
        self._measure_weights(self.model)

    def _embed_texts(self, texts: list[str], batch_size: int) -> np.ndarray:
        if not self.reads_text:
            raise ModelRunError(f"{self.name} reads images only: it cannot embed text queries")
        # as {"text": ...}: sentence-transformers would open a plain string that names an image file as the image
        return self.model.encode([{"text": t} for t in texts], batch_size=batch_size, show_progress_bar=False,
                                 convert_to_numpy=True)

    def _embed_files(self, items: list[Media], batch_size: int) -> np.ndarray:
        images = [read_image(item) for item in items]
        return self.model.encode(images, batch_size=batch_size, show_progress_bar=False, convert_to_numpy=True)


class ClapEncoder(MediaEncoder):
    """A CLAP-family model through transformers: WAV audio (resampled to the processor's rate) and texts."""

    modality = "audio"

    def _load(self) -> None:
        from transformers import ClapModel, ClapProcessor

        self.device = resolve_device(self.device_request)
        try:
            self.model = ClapModel.from_pretrained(self.source).to(self.device).eval()
            self.processor = ClapProcessor.from_pretrained(self.source)
        except Exception as exc:
            raise ModelRunError(_load_error(self.name, self.source, exc)) from exc
        self.tokenizer = self.processor.tokenizer
        extractor = self.processor.feature_extractor
        self.sampling_rate = int(extractor.sampling_rate)
        self.max_samples = int(getattr(extractor, "nb_max_samples", 0) or 0) or None
        self.dimension = int(self.model.config.projection_dim)
        limit = getattr(self.tokenizer, "model_max_length", None)
        if limit and limit < 1_000_000:
            self.max_tokens = min(int(limit), self.max_tokens or int(limit))
        self._measure_weights(self.model)

    @staticmethod
    def _features(out: Any) -> np.ndarray:
        vecs = getattr(out, "pooler_output", out)  # transformers 5.x returns an output object, 4.x the tensor
        return vecs.float().cpu().numpy()

    def _embed_texts(self, texts: list[str], batch_size: int) -> np.ndarray:
        import torch

        rows = []
        for start in range(0, len(texts), batch_size):
            batch = self.tokenizer(texts[start:start + batch_size], padding=True, truncation=True,
                                   max_length=self.max_tokens, return_tensors="pt").to(self.device)
            with torch.inference_mode():
                rows.append(self._features(self.model.get_text_features(**batch)))
        return np.vstack(rows)

    def _embed_files(self, items: list[Media], batch_size: int) -> np.ndarray:
        import torch

        rows = []
        for start in range(0, len(items), batch_size):
            clips = [read_audio(item, self.sampling_rate, self.max_samples) for item in items[start:start + batch_size]]
            batch = self.processor.feature_extractor(clips, sampling_rate=self.sampling_rate,
                                                     return_tensors="pt").to(self.device)
            with torch.inference_mode():
                rows.append(self._features(self.model.get_audio_features(**batch)))
        return np.vstack(rows)


# --- resolving a `--models` entry on image or audio data -----------------------------------------------------------------

ENCODERS = {"image": ClipEncoder, "audio": ClapEncoder}


def make_media_encoder(ref: str, ds: Any, *, db: Any = None, device: str | None = None,
                       trust_remote_code: Sequence[str] = (), batch_size: int = 32) -> MediaEncoder:
    """The encoder for one `--models` entry on image or audio data: a model folder (or `name=folder`), a
    knowledge-base id or a hub id in the local cache. Raises ModelRunError when the entry cannot read this data."""
    ref = ref.strip()
    modality = ds.modality
    opted_in = set(trust_remote_code)
    if ref.lower() in ("bm25", "bm25s") or ref.lower().startswith("api:"):
        raise ModelRunError(f"only local CLIP-family (images) or CLAP-family (audio) models are validated on "
                            f"{modality} data, not {ref}")
    name, sep, folder = ref.partition("=")
    path = Path(folder if sep else ref).expanduser()
    if path.exists():
        if not path.is_dir() or not (path / "config.json").exists():
            raise ModelRunError(f"{ref}: a model folder with a config.json was expected")
        record = (_find_record(db, model_id=name) or _find_record(db, hf_id=name)) if sep else _record_named_by(db, path)
        shown = name if sep else (record.id if record is not None else ref)
        _check_architecture(shown, path, modality)
        trc = bool({ref, shown, str(path)} & opted_in)
        return ENCODERS[modality](shown, str(path.resolve()), record=record, device=device, trust_remote_code=trc,
                                  batch_size=batch_size)
    record = _find_record(db, model_id=ref) or _find_record(db, hf_id=ref)
    if record is not None:
        inputs = list(getattr(record, "input_modalities", None) or [record.modality])
        if modality not in inputs:
            raise ModelRunError(f"{ref} does not read {'images' if modality == 'image' else 'audio'} (its inputs: "
                                f"{', '.join(map(str, inputs))})")
        if record.trust_remote_code and not {ref, record.id} & opted_in:
            raise ModelRunError(f"{ref} needs trust_remote_code (it runs code from its repository); "
                                f"opt in for this model with --trust-remote-code {ref}")
        source = record.hf_id or record.id
    elif "/" in ref and not ref.startswith((".", "/")):
        source = ref
    else:
        raise ModelRunError(f"{ref!r} is not a knowledge-base id, a hub id (owner/name) or a model folder")
    local = _cached_snapshot(source)
    if local is not None:
        _check_architecture(ref, local, modality)
    trc = bool(record is not None and record.trust_remote_code) or ref in opted_in
    return ENCODERS[modality](ref, str(local or source), record=record, device=device, trust_remote_code=trc,
                              batch_size=batch_size)


def _check_architecture(name: str, folder: Path, modality: str) -> None:
    """Audio is read by CLAP models only; a CLAP folder offered for images (or the reverse) is refused before loading."""
    try:
        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return
    model_type = str(config.get("model_type", "")) if isinstance(config, dict) else ""
    if modality == "audio" and model_type != "clap":
        raise ModelRunError(f"{name}: audio is validated with CLAP-family models (model_type clap); this one is "
                            f"{model_type or 'unknown'}")
    if modality == "image" and model_type == "clap":
        raise ModelRunError(f"{name} is an audio model (CLAP): it does not read images")


def _cached_snapshot(hub_id: str) -> Path | None:
    try:
        from huggingface_hub import snapshot_download

        return Path(snapshot_download(hub_id, local_files_only=True))
    except Exception:
        return None


def _hub_revision(source: str) -> str | None:
    snap = _cached_snapshot(source)
    return snap.name if snap is not None else None


def _configured_max_tokens(folder: Path) -> int | None:
    """The text side's limit from the folder's tokenizer config, read without loading the model."""
    try:
        value = json.loads((folder / "tokenizer_config.json").read_text(encoding="utf-8")).get("model_max_length")
        return int(value) if value and int(value) < 1_000_000 else None
    except (OSError, ValueError, TypeError, AttributeError):
        return None


def _load_error(name: str, source: str, exc: Exception) -> str:
    hint = ""
    if "trust_remote_code" in str(exc):
        hint = f" (this model runs its own code: opt in with --trust-remote-code {name})"
    elif not Path(source).exists():
        hint = " (not found locally; the hub may be unreachable: download it first or pass a local folder)"
    return f"could not load {name}: {type(exc).__name__}: {_first_line(exc)}{hint}"

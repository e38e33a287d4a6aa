"""Helpers for the engine tests: small hand-made knowledge bases and an independent check of the hard requirements
that reads a model's facts straight from its record (no engine code)."""
from __future__ import annotations

from pathlib import Path

import sqlite_utils

from embedwise.engine.requirements import Requirements
from embedwise.kb import store
from embedwise.kb.licenses import NON_COMMERCIAL, PERMISSIVE, is_non_commercial
from embedwise.kb.schema import ModelRecord


def make_db(path: Path, records: list[ModelRecord]) -> sqlite_utils.Database:
    db = sqlite_utils.Database(path)
    store.create_schema(db)
    store.write_records(db, records)
    return db


def record(**overrides) -> ModelRecord:
    """A valid discovered text model; override any field."""
    data = {"id": "test/model", "name": "model", "provider": "test", "status": "discovered", "modality": "text",
            "input_modalities": ["text"], "languages": ["eng"], "license": "Apache-2.0", "commercial_use": True,
            "open_weights": True, "hosting": "self_host", "parameters": 110_000_000, "dimensions": [768],
            "max_tokens": 512}
    data.update(overrides)
    if data.get("price_per_million_tokens") is not None:
        data.setdefault("price_date", "2026-06-01")
    return ModelRecord.model_validate(data)


# --- the independent check -------------------------------------------------------------------------------------------

UNKNOWN_LICENSES = {"LicenseRef-Unknown", "LicenseRef-Other"}


def _how(rec: ModelRecord, req: Requirements) -> str:
    if rec.hosting in ("api", "self_host"):
        return rec.hosting
    return "api" if req.deployment.hosting == "api" else "self_host"


def violations(req: Requirements, rec: ModelRecord) -> list[str]:
    """Every hard requirement this model breaks, computed from its record alone (no engine code)."""
    out = []
    d, dep, c = req.data, req.deployment, req.constraints
    how = _how(rec, req)
    if d.modality == "multimodal":
        if rec.modality != "multimodal":
            out.append("modality")
    elif d.modality not in rec.input_modalities:
        out.append("modality")
    q = d.query_modality or d.modality
    if q != d.modality and q != "multimodal" and q not in rec.input_modalities:
        out.append("query modality")
    if req.task == "cross_modal_search" and rec.modality != "multimodal":
        out.append("cross-modal")
    text_side = d.modality in ("text", "multimodal") or q in ("text", "multimodal")
    if text_side and d.languages and "text" in rec.input_modalities:
        if rec.languages:
            if not set(d.languages) <= set(rec.languages):
                out.append("languages")
        elif any(lang != "eng" for lang in d.languages) and not rec.multilingual:
            out.append("languages unknown")
    if d.cross_lingual and not rec.multilingual:
        out.append("cross-lingual")
    if req.license.commercial_use:
        if rec.license in NON_COMMERCIAL or is_non_commercial(rec.license) or not rec.commercial_use:
            out.append("commercial")
        if rec.license in UNKNOWN_LICENSES:
            out.append("licence unknown")
    if req.license.permissive_only and rec.license not in PERMISSIVE:
        out.append("permissive")
    if dep.hosting == "self_host" or dep.data_must_stay_on_premises:
        if rec.hosting == "api" or not rec.open_weights:
            out.append("self-host")
    if dep.hosting == "api" and rec.hosting == "self_host":
        out.append("api")
    if c.fine_tuning and not rec.open_weights:
        out.append("fine-tuning")
    bpp = 2 if dep.hardware == "gpu" else 4
    if how == "self_host" and (rec.parameters or rec.memory_mb):
        weights_gb = rec.parameters * bpp / 1e9 if rec.parameters else rec.memory_mb / 1024 * bpp / 4
        need_gb = weights_gb * 1.2 + 0.3
        if dep.hardware == "gpu" and dep.gpu_memory_gb is not None and need_gb > dep.gpu_memory_gb + 1e-3:
            out.append("gpu memory")
    if how == "self_host" and rec.parameters:
        if dep.hardware == "cpu" and rec.parameters > 1_000_000_000:
            out.append("cpu size")
    if c.max_parameters is not None:
        if rec.parameters is None and how == "self_host":
            out.append("size unknown")
        elif rec.parameters is not None and rec.parameters > c.max_parameters:
            out.append("max parameters")
    if c.max_dimensions is not None and (not rec.dimensions or min(rec.dimensions) > c.max_dimensions):
        out.append("max dimensions")
    if req.budget.monthly_usd is not None and how == "api":
        if rec.price_per_million_tokens is None:
            out.append("price unknown")
        else:
            p = rec.price_per_million_tokens
            monthly = (round(dep.queries_per_day * 30 * 32 / 1e6 * p, 2)
                       + round(d.documents * d.avg_doc_tokens / 1e6 * p, 2) / 12)
            if monthly > req.budget.monthly_usd + 0.01:
                out.append("budget")
    if dep.latency_p95_ms is not None:
        if how == "api":
            lat = 150.0
        elif rec.parameters:
            lat = 4 + rec.parameters / 1e9 * 12 if dep.hardware == "gpu" else 4 + rec.parameters / 1e6 * 0.25
        else:
            lat = None
        if lat is not None and lat > dep.latency_p95_ms + 0.1:
            out.append("latency")
    et = c.embedding_type
    if et in ("dense", "sparse", "multi_vector") and rec.output != et:
        out.append("embedding type")
    if et == "hybrid" and rec.output == "multi_vector":
        out.append("embedding type")
    if req.task in ("classification", "clustering") and rec.output == "multi_vector":
        out.append("one vector")
    return out


def assert_shortlist_sound(shortlist, records_by_id: dict[str, ModelRecord], req: Requirements) -> None:
    """Every shortlisted model meets every hard requirement; every excluded one breaks at least one."""
    for cand in shortlist.shortlist:
        broken = violations(req, records_by_id[cand.id])
        assert not broken, f"{cand.id} is shortlisted but breaks {broken}"
    for exc in shortlist.excluded:
        assert exc.reasons and all(r.text and r.rule for r in exc.reasons)
        assert violations(req, records_by_id[exc.id]), f"{exc.id} is excluded ({exc.reasons}) but breaks nothing"

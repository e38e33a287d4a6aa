"""Helpers for the engine tests: small hand-made knowledge bases and an independent check of the hard requirements
that reads a model's facts straight from its record (no engine code)."""
from __future__ import annotations

from pathlib import Path

import sqlite_utils

from embedwise.engine.requirements import Requirements
from embedwise.kb.languages import covers
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


def _static(rec: ModelRecord) -> bool:
    return "static" in " ".join(rec.tags).lower() or "model2vec" in " ".join(rec.tags).lower() \
        or "potion" in rec.id.lower()


def _view(rec: ModelRecord, req: Requirements, hardware: list[dict]) -> dict:
    """Cost and latency as the engine's documented estimate models compute them (engine/costs.py)."""
    from embedwise.engine.estimates import model_view
    from embedwise.kb.store import record_to_row

    return model_view(record_to_row(rec), req, None, {"hardware": hardware})


def violations(req: Requirements, rec: ModelRecord, hardware: list[dict] | None = None) -> list[str]:
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
    claimed = bool(rec.languages_claim) or (rec.languages_basis == "benchmark_only" and rec.multilingual)
    if text_side and d.languages and "text" in rec.input_modalities and rec.languages and not claimed:
        if not all(covers(rec.languages, lang) for lang in d.languages):
            out.append("languages")
    if text_side and "text" in rec.input_modalities and not rec.languages and not rec.multilingual \
            and any(lang != "eng" for lang in d.languages):
        out.append("languages unknown")
    tf = set(rec.trained_for)
    docs = d.domain in ("documents", "document", "visual_documents", "pdf", "slides", "scans")
    if "masked_lm_only" in tf:
        out.append("masked lm")
    if tf:
        if d.modality == "text" and q == "text" and not tf & {"text_retrieval", "text_similarity", "code", "lexical"}:
            out.append("trained for")
        if d.modality == "image" and not docs and not tf & {"image_text", "image"}:
            out.append("trained for")
        if d.modality == "image" and q == "text" and "image_text" not in tf:
            out.append("trained for")
        if d.modality == "image" and docs and "visual_document" not in tf:
            out.append("trained for")
        if d.modality == "audio" and d.domain != "speech" and "general_audio" not in tf:
            out.append("trained for")
        if d.modality == "audio" and d.domain == "speech" and not tf & {"speech", "general_audio"}:
            out.append("trained for")
        if d.modality == "video" and "video" not in tf:
            out.append("trained for")
    if rec.lifecycle == "retired":
        out.append("retired")
    if not d.chunking and d.modality == "text" and (rec.max_tokens is None or rec.max_tokens < d.avg_doc_tokens):
        out.append("window")
    if dep.on_device and rec.parameters and rec.parameters > 150_000_000 and not _static(rec):
        out.append("on device")
    if d.cross_lingual and not rec.multilingual:
        out.append("cross-lingual")
    if req.license.commercial_use:
        if rec.license in NON_COMMERCIAL or is_non_commercial(rec.license) or not rec.commercial_use:
            out.append("commercial")
        if rec.license in UNKNOWN_LICENSES:
            out.append("licence unknown")
    if req.license.permissive_only and (rec.license not in PERMISSIVE or rec.permissive is False):
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
    if c.max_parameters is not None:  # an unknown size is a named risk, not a violation
        if rec.parameters is not None and rec.parameters > c.max_parameters:
            out.append("max parameters")
    if c.max_dimensions is not None and (not rec.dimensions or min(rec.dimensions) > c.max_dimensions):
        out.append("max dimensions")
    view = _view(rec, req, hardware or [])
    if req.budget.monthly_usd is not None:
        if how == "api" and rec.price_per_million_tokens is None:
            out.append("price unknown")
        elif view["monthly_cost_usd"] is not None and view["monthly_cost_usd"] > req.budget.monthly_usd + 1e-9:
            out.append("budget")
    if req.budget.one_off_usd is not None and view["one_off_cost_usd"] is not None \
            and view["one_off_cost_usd"] > req.budget.one_off_usd + 1e-9:
        out.append("one-off budget")
    if dep.latency_p95_ms is not None and view["latency_low_ms"] is not None \
            and view["latency_low_ms"] > dep.latency_p95_ms:
        out.append("latency")
    et = c.embedding_type
    if et in ("dense", "sparse", "multi_vector") and rec.output != et:
        out.append("embedding type")
    if et == "hybrid" and rec.output == "multi_vector":
        out.append("embedding type")
    if req.task in ("classification", "clustering") and rec.output == "multi_vector":
        out.append("one vector")
    return out


def assert_shortlist_sound(shortlist, records_by_id: dict[str, ModelRecord], req: Requirements,
                           hardware: list[dict] | None = None) -> None:
    """Every shortlisted model meets every hard requirement; every excluded one breaks at least one."""
    for cand in shortlist.shortlist:
        broken = violations(req, records_by_id[cand.id], hardware)
        assert not broken, f"{cand.id} is shortlisted but breaks {broken}"
    for exc in shortlist.excluded:
        assert exc.reasons and all(r.text and r.rule for r in exc.reasons)
        if any(r.rule == "engine.infeasible" for r in exc.reasons):
            continue  # refused with the whole request: no model meets that limit
        assert violations(req, records_by_id[exc.id], hardware), \
            f"{exc.id} is excluded ({exc.reasons}) but breaks nothing"

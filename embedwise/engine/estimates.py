"""Estimates and the two flat views the rules read: the requirements view and the per-model view.

The requirements view is the Requirements flattened to dotted paths ("data.languages") plus a few derived values.
The model view is one model's facts from the knowledge base plus what follows from them under these requirements:
the memory it needs on the user's hardware, its latency, its monthly API cost, its vector storage. Rule conditions
name these fields; `rules.py` validates every name against the tables below.
"""
from __future__ import annotations

import json
from typing import Any

from embedwise.engine.requirements import Requirements
from embedwise.kb.licenses import (
    COPYLEFT,
    CUSTOM,
    NON_COMMERCIAL,
    PERMISSIVE,
    PROPRIETARY,
    is_non_commercial,
)

# Assumptions, shown to the user beside every estimate.
QUERY_TOKENS = 32  # an average search query
BYTES_PER_PARAM = {"gpu": 2, "cpu": 4}  # fp16 on a GPU, fp32 on a CPU
MEMORY_OVERHEAD = 1.2  # activations, buffers, framework
MEMORY_BASE_GB = 0.3  # CUDA context / runtime
UNKNOWN_LICENSES = {"LicenseRef-Unknown", "LicenseRef-Other"}

# Requirement paths the rules may name: path -> kind ("str", "num", "bool", "list").
REQ_FIELDS: dict[str, str] = {
    "task": "str",
    "data.modality": "str", "data.query_modality": "str", "data.languages": "list", "data.cross_lingual": "bool",
    "data.domain": "str", "data.keyword_heavy": "bool", "data.avg_doc_tokens": "num", "data.documents": "num",
    "deployment.hosting": "str", "deployment.data_must_stay_on_premises": "bool", "deployment.hardware": "str",
    "deployment.gpu_memory_gb": "num", "deployment.latency_p95_ms": "num", "deployment.queries_per_day": "num",
    "budget.monthly_usd": "num", "budget.priority": "str",
    "license.commercial_use": "bool", "license.permissive_only": "bool",
    "constraints.max_dimensions": "num", "constraints.max_parameters": "num", "constraints.embedding_type": "str",
    "constraints.fine_tuning": "bool",
    "data.chunking": "bool", "data.monthly_churn": "num", "data.labelled_examples": "num",
    "deployment.gpu_type": "str", "deployment.on_device": "bool", "budget.one_off_usd": "num",
    # derived
    "data.cross_modal": "bool",  # query modality differs from document modality
    "data.non_english": "bool",  # some language other than English
    "data.language_count": "num",
    "data.total_tokens": "num",  # documents x avg_doc_tokens
    "data.storage_gb_at_1024": "num",  # vector storage at 1024 float32 dimensions
    "deployment.monthly_queries": "num",
}

# Model view fields: name -> kind.
MODEL_FIELDS: dict[str, str] = {
    "name": "str", "provider": "str", "status": "str", "modality": "str", "input_modalities": "list",
    "output": "str", "domains": "list", "languages": "list", "multilingual": "bool", "license": "str",
    "license_class": "str", "commercial_use": "bool", "open_weights": "bool", "hosting": "str",
    "parameters": "num", "memory_mb": "num", "dimensions": "list", "default_dimension": "num",
    "min_dimension": "num", "matryoshka": "bool", "max_tokens": "num", "similarity": "str",
    "trust_remote_code": "bool", "safetensors": "bool", "release_year": "num",
    "price_per_million_tokens": "num", "downloads": "num", "likes": "num",
    "mteb_mean": "num", "mteb_retrieval": "num", "mteb_classification": "num", "mteb_clustering": "num",
    "mteb_sts": "num", "mteb_reranking": "num", "mteb_pair_classification": "num", "mteb_summarization": "num",
    "mteb_multilingual_mean": "num",
    "family": "str", "tags": "list", "trained_for": "list", "lifecycle": "str", "replacement": "str",
    "permissive": "bool", "base_model": "str", "languages_basis": "str", "languages_claim": "str",
    "active_parameters": "num", "batch_price_per_million_tokens": "num", "free_tokens": "num",
    # derived under the requirements
    "evidence_score": "num",  # 0-100: the model's standing on the benchmarks that match (engine/evidence.py)
    "evidence_text": "str", "evidence_basis": "str",  # matched | related | family | none
    "latency_low_ms": "num", "latency_high_ms": "num",  # the latency estimate's range
    "one_off_cost_usd": "num",  # indexing the corpus once
    "first_year_cost_usd": "num",  # one-off + 12 months
    "cost_basis": "str",  # what the monthly cost is made of, for reasons
    "languages_unknown": "bool",  # the model claims many languages without a list: the user's cannot be confirmed
    "static": "bool",
    "deploy_as": "str",  # self_host | api: how this user would run it
    "memory_gb": "num",  # memory needed on the user's hardware (self-host)
    "latency_ms": "num",  # estimated p95 to embed one query
    "monthly_cost_usd": "num",
    "storage_gb": "num",  # vectors at the default dimension
    "min_storage_gb": "num",  # vectors at the smallest supported dimension
    "languages_missing": "list",  # the user's languages the model does not list
    "domain_match": "bool",  # the user's (non-general) domain is among the model's domains
    "docs_truncated": "bool",  # avg_doc_tokens exceeds max_tokens
}


def license_class(license_id: str | None) -> str:
    if not license_id or license_id in UNKNOWN_LICENSES:
        return "unknown"
    if is_non_commercial(license_id) or license_id in NON_COMMERCIAL:
        return "non_commercial"
    if license_id in PERMISSIVE:
        return "permissive"
    if license_id in COPYLEFT:
        return "copyleft"
    if license_id in CUSTOM:
        return "custom"
    if license_id in PROPRIETARY:
        return "proprietary"
    return "unknown"


def req_view(req: Requirements) -> dict[str, Any]:
    d, dep = req.data, req.deployment
    view: dict[str, Any] = {"task": req.task}
    for section in ("data", "deployment", "budget", "license", "constraints"):
        for name, value in getattr(req, section).model_dump(mode="json").items():
            view[f"{section}.{name}"] = value
    view["data.query_modality"] = d.effective_query_modality
    view["data.cross_modal"] = d.effective_query_modality != d.modality
    view["data.non_english"] = any(lang != "eng" for lang in d.languages)
    view["data.language_count"] = len(d.languages)
    view["data.total_tokens"] = d.documents * d.avg_doc_tokens
    view["data.storage_gb_at_1024"] = round(d.documents * 1024 * 4 / 1e9, 3)
    view["deployment.monthly_queries"] = dep.queries_per_day * 30
    return view


def _loads(value: Any) -> list:
    if value is None:
        return []
    if isinstance(value, list):
        return value
    try:
        out = json.loads(value)
    except (TypeError, ValueError):
        return []
    return out if isinstance(out, list) else []


def _bool(value: Any) -> bool | None:
    return None if value is None else bool(value)


def memory_gb(parameters: int | None, memory_mb: float | None, hardware: str) -> float | None:
    bpp = BYTES_PER_PARAM[hardware]
    if parameters:
        weights_gb = parameters * bpp / 1e9
    elif memory_mb:
        weights_gb = memory_mb / 1024 * bpp / 4  # memory_mb is the fp32 weights size
    else:
        return None
    return round(weights_gb * MEMORY_OVERHEAD + MEMORY_BASE_GB, 3)


STATIC_PREPARED = "_prepared"


def base_view(row: dict) -> dict[str, Any]:
    """The facts of one `models` row that do not depend on the requirements (list columns parsed)."""
    if row.get(STATIC_PREPARED):
        return row
    dims = _loads(row.get("dimensions"))
    lic = row.get("license")
    lclass = license_class(lic)
    release = row.get("release_date")
    g = row.get
    return {
        STATIC_PREPARED: True,
        "id": row["id"], "name": g("name"), "provider": g("provider"), "status": g("status"),
        "modality": g("modality"), "input_modalities": _loads(g("input_modalities")), "output": g("output") or "dense",
        "domains": _loads(g("domains")), "languages": _loads(g("languages")), "multilingual": _bool(g("multilingual")),
        "license": lic, "license_class": lclass,
        "commercial_use": None if lclass == "unknown" else (False if lclass == "non_commercial"
                                                            else _bool(g("commercial_use"))),
        "open_weights": _bool(g("open_weights")), "hosting": g("hosting"),
        "parameters": g("parameters"), "memory_mb": g("memory_mb"), "dimensions": dims,
        "default_dimension": dims[0] if dims else g("default_dimension"),
        "min_dimension": min(dims) if dims else g("min_dimension"), "matryoshka": len(dims) > 1,
        "max_tokens": g("max_tokens"), "similarity": g("similarity"),
        "trust_remote_code": _bool(g("trust_remote_code")), "safetensors": _bool(g("safetensors")),
        "release_year": int(str(release)[:4]) if release else None,
        "price_per_million_tokens": g("price_per_million_tokens"), "downloads": g("downloads"), "likes": g("likes"),
        "mteb_mean": g("mteb_mean"), "mteb_retrieval": g("mteb_retrieval"),
        "mteb_classification": g("mteb_classification"), "mteb_clustering": g("mteb_clustering"),
        "mteb_sts": g("mteb_sts"), "mteb_reranking": g("mteb_reranking"),
        "mteb_pair_classification": g("mteb_pair_classification"),
        "mteb_summarization": g("mteb_summarization"), "mteb_multilingual_mean": g("mteb_multilingual_mean"),
        "family": g("family"), "tags": _loads(g("tags")), "trained_for": _loads(g("trained_for")),
        "lifecycle": g("lifecycle") or "active", "replacement": g("replacement"), "permissive": _bool(g("permissive")),
        "base_model": g("base_model"), "languages_basis": g("languages_basis"), "languages_claim": g("languages_claim"),
        "active_parameters": g("active_parameters"),
        "batch_price_per_million_tokens": g("batch_price_per_million_tokens"), "free_tokens": g("free_tokens"),
    }


def prepare_rows(rows: list[dict]) -> list[dict]:
    """Parse rows once; the result can be evaluated against many requirements."""
    return [base_view(r) for r in rows]


def model_view(row: dict, req: Requirements, rv: dict | None = None, ctx: dict | None = None) -> dict[str, Any]:
    """One model's facts (a `models` row or a prepared base view) under these requirements.

    `ctx` carries what the whole knowledge base contributes: `evidence` (model id -> engine.evidence result) and
    `hardware` (the curated hardware price rows)."""
    from embedwise.engine import costs
    from embedwise.kb.languages import covers

    ctx = ctx or {}
    view = dict(base_view(row))
    hardware = req.deployment.hardware
    d = req.data
    hosting = view["hosting"]
    how = "api" if hosting == "api" else "self_host" if hosting == "self_host" else (
        "api" if req.deployment.hosting == "api" else "self_host")
    mem = None if how == "api" else memory_gb(view["parameters"], view["memory_mb"], hardware)
    sp = costs.speed(view, req, how)
    c = costs.cost(view, req, how, sp, ctx.get("hardware") or [], mem)
    languages = view["languages"]
    unknown_langs = bool(view["languages_claim"]) or (view["languages_basis"] == "benchmark_only"
                                                      and bool(view["multilingual"]))
    view["deploy_as"] = how
    view["memory_gb"] = mem
    view["latency_ms"] = sp["latency_ms"]
    view["latency_low_ms"] = sp["latency_low_ms"]
    view["latency_high_ms"] = sp["latency_high_ms"]
    view["cost"] = c
    view["one_off_cost_usd"] = c["one_off_usd"]
    view["monthly_cost_usd"] = c["monthly_usd"]
    b = c["breakdown"]
    if how == "api":
        view["cost_basis"] = (f"queries ${b.get('queries_usd_per_month', 0):g} + re-embedding "
                              f"${b.get('churn_usd_per_month', 0):g} + vector storage "
                              f"${b.get('vector_storage_usd_per_month') or 0:g}")
    elif b.get("instance"):
        view["cost_basis"] = (f"an always-on {b['instance']} at ${b['usd_per_hour']:g}/h" if b.get(
            "serving_hours_per_month") else f"{b['instance']} at ${b['usd_per_hour']:g}/h for indexing only")
    else:
        view["cost_basis"] = "no hardware price"
    view["first_year_cost_usd"] = (None if c["one_off_usd"] is None or c["monthly_usd"] is None
                                   else round(c["one_off_usd"] + 12 * c["monthly_usd"], 2))
    view["storage_gb"] = costs.storage_gb(d.documents, view["default_dimension"], view["output"], d.avg_doc_tokens)
    view["min_storage_gb"] = costs.storage_gb(d.documents, view["min_dimension"], view["output"], d.avg_doc_tokens)
    missing = [lang for lang in d.languages if not covers(languages, lang)] if languages else []
    view["languages_unknown"] = unknown_langs and bool(missing)
    view["languages_missing"] = [] if unknown_langs else missing
    view["domain_match"] = d.domain != "general" and d.domain in view["domains"]
    view["docs_truncated"] = view["max_tokens"] is not None and d.avg_doc_tokens > view["max_tokens"]
    view["static"] = costs.is_static(view)
    ev = (ctx.get("evidence") or {}).get(view["id"]) or {"score": None, "entries": [], "basis": "none",
                                                         "coverage": 0.0}
    view["evidence"] = ev
    view["evidence_score"] = ev["score"]
    view["evidence_basis"] = ev["basis"]
    view["evidence_text"] = ev.get("text", "")
    return view


def estimates_for(view: dict) -> dict[str, Any]:
    """The estimates shown beside a candidate."""
    out: dict[str, Any] = {"deploy_as": view["deploy_as"]}
    for key in ("memory_gb", "latency_ms", "latency_low_ms", "latency_high_ms", "monthly_cost_usd",
                "one_off_cost_usd", "storage_gb", "min_storage_gb"):
        if view.get(key) is not None:
            out[key] = view[key]
    return out


def assumptions(req: Requirements) -> dict[str, Any]:
    hw = req.deployment.hardware
    return {
        "query_tokens": QUERY_TOKENS,
        "bytes_per_parameter": BYTES_PER_PARAM[hw],
        "dtype": "fp16" if hw == "gpu" else "fp32",
        "memory_overhead": f"x{MEMORY_OVERHEAD} + {MEMORY_BASE_GB} GB",
        "api_latency_ms": "60-400 ms, assumed (no sourced per-provider measurement)",
        "indexing": "a one-off cost, apart from the monthly cost (queries, churn, vector storage)",
        "self_hosting": "priced from the curated hardware price table: indexing hours + an always-on replica",
        "vector_bytes_per_dimension": 4,
        "monthly_queries": req.deployment.queries_per_day * 30,
        "indexing_tokens": req.data.documents * req.data.avg_doc_tokens,
    }


def fmt(value: Any) -> str:
    """Values in reasons: short numbers, lists joined."""
    if value is None:
        return "unknown"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if value == 0:
            return "0"
        if abs(value) >= 100:
            return f"{value:,.0f}"
        return f"{value:.3g}" if abs(value) < 10 else f"{value:.1f}"
    if isinstance(value, int):
        for scale, suffix in ((10**12, "T"), (10**9, "B"), (10**6, "M")):
            if value >= scale:
                shown = value / scale
                return (f"{shown:.3g}" if shown < 1000 else f"{shown:,.0f}") + suffix
        return f"{value:,}" if value >= 10_000 else str(value)
    if isinstance(value, list):
        return ", ".join(fmt(v) for v in value) if value else "none"
    return str(value)

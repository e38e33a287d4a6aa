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
API_LATENCY_MS = 150.0  # network round trip to a hosted API, one short query, p95-ish
AMORTISE_MONTHS = 12  # the one-off indexing cost is spread over a year in monthly_cost_usd
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
    # derived under the requirements
    "deploy_as": "str",  # self_host | api: how this user would run it
    "memory_gb": "num",  # memory needed on the user's hardware (self-host)
    "latency_ms": "num",  # estimated p95 to embed one query
    "query_cost_monthly_usd": "num", "indexing_cost_usd": "num", "monthly_cost_usd": "num",
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


def latency_ms(parameters: int | None, how: str, hardware: str) -> float | None:
    if how == "api":
        return API_LATENCY_MS
    if not parameters:
        return None
    if hardware == "gpu":
        return round(4.0 + parameters / 1e9 * 12.0, 1)
    return round(4.0 + parameters / 1e6 * 0.25, 1)


def storage_gb(documents: int, dimension: int | None, output: str, avg_doc_tokens: int) -> float | None:
    if dimension is None:
        return None
    if output == "sparse":  # ~ one (index, weight) pair per distinct token, at most the vocabulary
        per_doc = min(dimension, max(avg_doc_tokens, 1)) * 8
    elif output == "multi_vector":
        per_doc = dimension * 4 * max(avg_doc_tokens, 1)
    else:
        per_doc = dimension * 4
    return round(documents * per_doc / 1e9, 3)


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
    }


def prepare_rows(rows: list[dict]) -> list[dict]:
    """Parse rows once; the result can be evaluated against many requirements."""
    return [base_view(r) for r in rows]


def model_view(row: dict, req: Requirements, rv: dict | None = None) -> dict[str, Any]:
    """One model's facts (a `models` row or a prepared base view) under these requirements."""
    view = dict(base_view(row))
    hardware = req.deployment.hardware
    d = req.data
    hosting = view["hosting"]
    how = "api" if hosting == "api" else "self_host" if hosting == "self_host" else (
        "api" if req.deployment.hosting == "api" else "self_host")
    params = view["parameters"]
    price = view["price_per_million_tokens"]
    if how == "api":
        if price is not None:
            query_cost = round(req.deployment.queries_per_day * 30 * QUERY_TOKENS / 1e6 * price, 2)
            indexing = round(d.documents * d.avg_doc_tokens / 1e6 * price, 2)
            monthly = round(query_cost + indexing / AMORTISE_MONTHS, 2)
        else:
            query_cost = indexing = monthly = None
        mem = None
    else:
        query_cost = indexing = monthly = 0.0
        mem = memory_gb(params, view["memory_mb"], hardware)
    languages = view["languages"]
    max_tokens = view["max_tokens"]
    output = view["output"]
    view["deploy_as"] = how
    view["memory_gb"] = mem
    view["latency_ms"] = latency_ms(params, how, hardware)
    view["query_cost_monthly_usd"] = query_cost
    view["indexing_cost_usd"] = indexing
    view["monthly_cost_usd"] = monthly
    view["storage_gb"] = storage_gb(d.documents, view["default_dimension"], output, d.avg_doc_tokens)
    view["min_storage_gb"] = storage_gb(d.documents, view["min_dimension"], output, d.avg_doc_tokens)
    view["languages_missing"] = [lang for lang in d.languages if lang not in languages] if languages else []
    view["domain_match"] = d.domain != "general" and d.domain in view["domains"]
    view["docs_truncated"] = max_tokens is not None and d.avg_doc_tokens > max_tokens
    return view


def estimates_for(view: dict) -> dict[str, Any]:
    """The estimates shown beside a candidate."""
    out: dict[str, Any] = {"deploy_as": view["deploy_as"]}
    for key in ("memory_gb", "latency_ms", "monthly_cost_usd", "query_cost_monthly_usd", "indexing_cost_usd",
                "storage_gb", "min_storage_gb"):
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
        "api_latency_ms": API_LATENCY_MS,
        "indexing_amortised_over_months": AMORTISE_MONTHS,
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
        if value >= 10**9 and value % 10**6 == 0 or value >= 10**10:
            return f"{value / 1e9:.3g}B"
        if value >= 10**6:
            return f"{value / 1e6:.3g}M"
        return f"{value:,}" if value >= 10_000 else str(value)
    if isinstance(value, list):
        return ", ".join(fmt(v) for v in value) if value else "none"
    return str(value)

"""Speed and cost models for one model under the requirements: latency per query, indexing and serving cost.

Speed is estimated from the architecture: the compute per token is 2 x the non-embedding parameters (the vocabulary
of a multilingual XLM-R model is most of its size and costs a lookup, not a matmul), plus attention at the sequence
length; static models (Model2Vec, static-embedding) are lookups. The effective throughput of each kind of hardware
is calibrated against figures measured here (bench/estimates.py: all-MiniLM-L6-v2 on two CPU cores, ~16 ms for one
query and ~5,000 tokens/s in batches, i.e. ~70 and ~120 GFLOP/s effective) and against published GPU figures; every estimate
carries a low-high range (x/÷ 2.5), and a limit inside that range is a risk to measure, not an exclusion.

Cost: indexing is a one-off (documents x tokens), apart from the monthly cost of queries, re-embedding churn and
vector storage. APIs use list, batch (for indexing) and free-tier prices; self-hosting is priced from the curated
hardware price table (GPU or CPU hours to index the corpus, and an always-on replica to serve online queries).
"""
from __future__ import annotations

import math

QUERY_TOKENS = 32
UNCERTAINTY = 2.5  # the speed estimate's low-high range is estimate / 2.5 .. estimate x 2.5
# Effective FLOP/s at batch 1 (latency) and in batches (throughput), per hardware kind.
EFFECTIVE_FLOPS = {
    "cpu": (7e10, 1.2e11),  # calibrated on this project's 2-core runs (bench/estimates.py)
    "T4": (4e12, 2.0e13), "L4": (6e12, 3.0e13), "A10G": (7e12, 3.5e13), "L40S": (1.2e13, 9.0e13),
    "A100-80GB": (1.5e13, 1.5e14), "H100": (2.0e13, 3.0e14),
}
DEFAULT_GPU = "A10G"
OVERHEAD_MS = {"cpu": 4.0, "gpu": 4.0}  # tokenisation, framework, kernel launches
STATIC_LOOKUP_MS = 0.3
# Hosted APIs: no sourced per-provider latency measurements were found; these ranges are assumptions (network round
# trip plus queueing for one short query), shown as such.
API_LATENCY_MS = {"default": (60.0, 150.0, 400.0)}
VECTOR_STORAGE_USD_PER_GB_MONTH = 0.25  # RAM/SSD of a managed vector database (assumption, shown to the user)
HOURS_PER_MONTH = 730


def is_static(view: dict) -> bool:
    tags = " ".join(view.get("tags") or []).lower()
    return "static" in tags or "model2vec" in tags or "potion" in (view.get("id") or "").lower()


def compute_params(view: dict) -> float | None:
    """Parameters that cost a matmul per token: active parameters minus an estimate of the embedding table."""
    total = view.get("active_parameters") or view.get("parameters")
    if not total:
        return None
    hidden = view.get("default_dimension") or 768
    # XLM-R-style multilingual vocabularies hold ~250k tokens, BERT-style English ones ~30k
    vocab = 250_000 if view.get("multilingual") and total < 2e9 else 30_000
    embedding = min(vocab * hidden, 0.8 * total)
    return max(total - embedding, 0.1 * total)


def _gpu_key(name: str | None) -> str:
    """GPU names as users and price tables write them compare equal: 'a100 80gb' == 'A100-80GB'."""
    return "".join(ch for ch in (name or "").upper() if ch.isalnum())


def _named(names, wanted: str | None, key=lambda x: x) -> list:
    """The entries whose GPU is the wanted one: an exact name, else the family it starts ('A100' for both A100s)."""
    w = _gpu_key(wanted)
    if not w:
        return []
    exact = [n for n in names if _gpu_key(key(n)) == w]
    return exact or [n for n in names if _gpu_key(key(n)).startswith(w) or w.startswith(_gpu_key(key(n)))]


def gpu_name(req) -> str:
    known = _named([n for n in EFFECTIVE_FLOPS if n != "cpu"], req.deployment.gpu_type)
    return known[0] if known else DEFAULT_GPU


def speed(view: dict, req, how: str) -> dict:
    """Latency of one query (ms, with a range) and indexing throughput (tokens/s) on the user's hardware."""
    if how == "api":
        low, mid, high = API_LATENCY_MS.get((view.get("provider") or "").lower(), API_LATENCY_MS["default"])
        return {"latency_ms": mid, "latency_low_ms": low, "latency_high_ms": high, "tokens_per_s": None,
                "basis": "hosted API: assumed round trip (no sourced measurement per provider)"}
    hw = req.deployment.hardware
    kind = "cpu" if hw == "cpu" else gpu_name(req)
    if is_static(view):
        tps = 2e6 if hw == "cpu" else 2e7
        return {"latency_ms": STATIC_LOOKUP_MS, "latency_low_ms": STATIC_LOOKUP_MS / 3,
                "latency_high_ms": STATIC_LOOKUP_MS * 3, "tokens_per_s": tps,
                "basis": "static model: a table lookup per token"}
    params = compute_params(view)
    if params is None:
        return {"latency_ms": None, "latency_low_ms": None, "latency_high_ms": None, "tokens_per_s": None,
                "basis": "size unknown"}
    hidden = view.get("default_dimension") or 768
    layers = max(1.0, params / (12 * hidden * hidden))
    single, batched = EFFECTIVE_FLOPS[kind]

    def flops_per_token(seq: int) -> float:
        return 2 * params + 4 * layers * seq * hidden

    ms = OVERHEAD_MS["cpu" if hw == "cpu" else "gpu"] + QUERY_TOKENS * flops_per_token(QUERY_TOKENS) / single * 1000
    doc = min(req.data.avg_doc_tokens, view.get("max_tokens") or req.data.avg_doc_tokens)
    tps = batched / flops_per_token(max(doc, 1))
    return {"latency_ms": round(ms, 1), "latency_low_ms": round(ms / UNCERTAINTY, 1),
            "latency_high_ms": round(ms * UNCERTAINTY, 1), "tokens_per_s": round(tps),
            "basis": f"{params / 1e6:.0f}M compute parameters on {kind} (estimate, x/÷{UNCERTAINTY})"}


def pick_instance(prices: list[dict], req, memory_gb: float | None) -> dict | None:
    """The hardware the cost is priced on: the named GPU, else the cheapest that holds the model; or a CPU box."""
    if req.deployment.hardware == "cpu":
        cpus = [p for p in prices if not p.get("gpu")]
        return min(cpus, key=lambda p: p["usd_per_hour"]) if cpus else None
    gpus = [p for p in prices if p.get("gpu") and (p.get("gpu_count") or 1) == 1]
    def holds(p: dict) -> bool:
        return memory_gb is None or (p.get("gpu_memory_gb") or 0) >= memory_gb

    named = _named(gpus, req.deployment.gpu_type, key=lambda p: p["gpu"])
    pool = [p for p in named if holds(p)] or named or [p for p in gpus if holds(p)]
    return min(pool, key=lambda p: p["usd_per_hour"]) if pool else None


def cost(view: dict, req, how: str, sp: dict, prices: list[dict], memory_gb: float | None) -> dict:
    """`{one_off_usd, monthly_usd, storage_gb, breakdown}`; None figures where a price is unknown."""
    d = req.data
    index_tokens = d.documents * d.avg_doc_tokens
    churn_tokens = index_tokens * d.monthly_churn
    query_tokens = req.deployment.queries_per_day * 30 * QUERY_TOKENS
    dims = view.get("min_dimension") if req.constraints.max_dimensions else view.get("default_dimension")
    storage = storage_gb(d.documents, dims, view.get("output") or "dense", d.avg_doc_tokens)
    storage_usd = round(storage * VECTOR_STORAGE_USD_PER_GB_MONTH, 2) if storage is not None else None
    breakdown: dict = {"index_tokens": index_tokens, "query_tokens_per_month": query_tokens,
                       "churn_tokens_per_month": round(churn_tokens), "vector_storage_usd_per_month": storage_usd}
    if how == "api":
        price = view.get("price_per_million_tokens")
        if price is None:
            return {"one_off_usd": None, "monthly_usd": None, "storage_gb": storage,
                    "breakdown": {**breakdown, "note": "no public price"}}
        batch = view.get("batch_price_per_million_tokens")
        free = view.get("free_tokens") or 0
        index_price = batch if batch is not None else price
        billable = max(index_tokens - free, 0)
        one_off = billable / 1e6 * index_price
        queries = query_tokens / 1e6 * price
        churn = churn_tokens / 1e6 * index_price
        breakdown.update({"price_per_million_tokens": price, "indexing_price_per_million_tokens": index_price,
                          "free_tokens_used": min(free, index_tokens), "queries_usd_per_month": round(queries, 2),
                          "churn_usd_per_month": round(churn, 2)})
        monthly = queries + churn + (storage_usd or 0)
        return {"one_off_usd": round(one_off, 2), "monthly_usd": round(monthly, 2), "storage_gb": storage,
                "breakdown": breakdown}
    inst = pick_instance(prices, req, memory_gb)
    tps = sp.get("tokens_per_s")
    if inst is None or not tps:
        return {"one_off_usd": None, "monthly_usd": None, "storage_gb": storage,
                "breakdown": {**breakdown, "note": "no hardware price or throughput estimate"}}
    hourly = inst["usd_per_hour"]
    index_hours = index_tokens / tps / 3600
    churn_hours = churn_tokens / tps / 3600
    online = req.deployment.queries_per_day > 0
    serve_hours = HOURS_PER_MONTH if online else 0
    breakdown.update({"instance": inst["id"], "usd_per_hour": hourly, "index_hours": round(index_hours, 2),
                      "serving_hours_per_month": serve_hours, "churn_hours_per_month": round(churn_hours, 2),
                      "serving_usd_per_month": round(serve_hours * hourly, 2)})
    one_off = math.ceil(index_hours * 4) / 4 * hourly  # billed in quarter hours at least
    monthly = serve_hours * hourly + (0 if online else churn_hours * hourly) + (storage_usd or 0)
    return {"one_off_usd": round(one_off, 2), "monthly_usd": round(monthly, 2), "storage_gb": storage,
            "breakdown": breakdown}


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

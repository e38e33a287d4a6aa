"""Cost: what embedding the corpus and a month of queries costs through an API, and for self-hosting the memory
needed, the hardware class and how much of it the measured speed asks for."""
from __future__ import annotations

import math
from typing import Any

DEFAULT_QUERIES_PER_MONTH = 100_000
SECONDS_PER_MONTH = 30 * 24 * 3600
PEAK_FACTOR = 3.0  # peak traffic over the monthly average

# (max memory in MB, class) in increasing order.
HARDWARE_CLASSES = [
    (1_500, "CPU: 2+ cores, 4 GB RAM"),
    (4_000, "CPU: 4+ cores, 8 GB RAM (a small GPU helps at volume)"),
    (14_000, "GPU with 16 GB (T4, V100) or a large CPU box"),
    (22_000, "GPU with 24 GB (L4, A10)"),
    (45_000, "GPU with 48 GB (L40S, A6000)"),
    (76_000, "GPU with 80 GB (A100, H100)"),
]


def hardware_class(memory_mb: float | None) -> str | None:
    if memory_mb is None:
        return None
    for limit, name in HARDWARE_CLASSES:
        if memory_mb <= limit:
            return name
    return f"several GPUs ({math.ceil(memory_mb / 76_000)} x 80 GB)"


def estimate_cost(encoder: Any, *, corpus_tokens: int, corpus_texts: int, mean_query_tokens: float,
                  queries_per_month: int | None = None, speed: dict | None = None) -> dict:
    qpm = queries_per_month or DEFAULT_QUERIES_PER_MONTH
    record = getattr(encoder, "record", None)
    out: dict[str, Any] = {"corpus_tokens": int(corpus_tokens), "corpus_texts": int(corpus_texts),
                           "mean_query_tokens": round(float(mean_query_tokens), 1), "queries_per_month": qpm,
                           "hosting": "api" if encoder.kind == "api" else "self_host"}
    price = getattr(encoder, "price_per_million_tokens", None)
    monthly_tokens = mean_query_tokens * qpm
    out["monthly_query_tokens"] = int(monthly_tokens)
    if encoder.kind == "api":
        out["price_per_million_tokens"] = price
        if price is not None:
            out["corpus_usd"] = round(corpus_tokens / 1e6 * price, 6)
            out["monthly_queries_usd"] = round(monthly_tokens / 1e6 * price, 6)
        else:
            out["note"] = "no price in the knowledge base for this API model: token counts only"
        stats = getattr(encoder, "stats", None)
        if stats is not None:
            out["api"] = stats.as_dict()
        return out
    # Self-hosting: memory from the measurement, else the knowledge base, else the parameter count (fp32 + 20%).
    memory = None
    source = None
    weights = getattr(encoder, "weights_mb", None)
    if speed and speed.get("gpu_peak_mb"):
        memory, source = speed["gpu_peak_mb"], "measured GPU peak"
    elif speed and speed.get("rss_delta_mb") and speed["rss_delta_mb"] > (weights or 0):
        memory, source = speed["rss_delta_mb"], "measured RSS growth while loading and running"
    elif weights:
        # RSS growth understates a model loaded after others (freed memory is reused): weights + activations.
        memory, source = weights * 1.5 + 100, "weights in memory x 1.5 + 100 MB (activations, runtime)"
    elif record is not None and getattr(record, "memory_mb", None):
        memory, source = record.memory_mb, "knowledge base"
    elif record is not None and getattr(record, "parameters", None):
        memory, source = record.parameters * 4 / 2**20 * 1.2, "parameters x 4 bytes + 20%"
    out["memory_mb"] = round(memory, 1) if memory is not None else None
    out["memory_source"] = source
    index_only = encoder.kind == "sparse" and not weights  # BM25; a learned sparse model runs its weights
    out["hardware_class"] = "CPU: any (an inverted index)" if index_only else hardware_class(memory)
    if speed:
        dps = speed.get("best_docs_per_s")
        if dps:
            out["corpus_embedding_seconds"] = round(corpus_texts / dps, 1)
        qps = max((lat.get("qps") or 0 for lat in speed.get("latency", [])), default=0)
        if qps:
            peak_qps = qpm / SECONDS_PER_MONTH * PEAK_FACTOR
            out["capacity_qps"] = qps
            out["peak_qps_needed"] = round(peak_qps, 3)
            out["replicas_needed"] = max(1, math.ceil(peak_qps / qps))
    return out

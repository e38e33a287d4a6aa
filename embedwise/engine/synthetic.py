"""Random but plausible knowledge bases and requirements, for the property tests and the benchmark.

Every value the rules look at is varied, including unknown (None) facts, so that both the durable-rules engine and
the oracle meet every branch.
"""
from __future__ import annotations

import datetime as dt
import random
from typing import Any

from embedwise.engine.requirements import TASKS, Requirements
from embedwise.kb.licenses import COPYLEFT, NON_COMMERCIAL, PERMISSIVE
from embedwise.kb.schema import FACT_FIELDS, ModelRecord

LANGS = ["eng", "zho", "deu", "fra", "spa", "jpn", "ara", "hin", "rus", "por"]
DOMAINS = ["general", "medical", "legal", "finance", "code", "scientific", "ecommerce"]
LICENSES = sorted(PERMISSIVE) + sorted(COPYLEFT)[:3] + sorted(NON_COMMERCIAL)[:2] + ["LicenseRef-Gemma",
                                                                                     "LicenseRef-Unknown",
                                                                                     "LicenseRef-Other",
                                                                                     "proprietary"]
MTEB = ["mteb_retrieval", "mteb_classification", "mteb_clustering", "mteb_sts", "mteb_reranking",
        "mteb_pair_classification", "mteb_summarization"]
_TASK_TYPES = {"mteb_retrieval": "Retrieval", "mteb_classification": "Classification",
               "mteb_clustering": "Clustering", "mteb_sts": "STS", "mteb_reranking": "Reranking",
               "mteb_pair_classification": "PairClassification", "mteb_summarization": "Summarization"}


def random_record(rng: random.Random, i: int) -> ModelRecord:
    kind = rng.random()
    if kind < 0.75:
        modality, inputs = "text", ["text"]
    elif kind < 0.87:
        modality, inputs = "multimodal", ["text", "image"] + (["audio"] if rng.random() < 0.2 else [])
    else:
        modality = rng.choice(["image", "audio", "video"])
        inputs = [modality]
    hosting = rng.choice(["self_host", "self_host", "self_host", "api", "both"])
    open_weights = hosting != "api" and (hosting == "self_host" or rng.random() < 0.6)
    lic = "proprietary" if hosting == "api" else rng.choice(LICENSES)
    commercial = lic not in NON_COMMERCIAL and lic not in ("LicenseRef-Unknown",) and rng.random() < 0.95
    output = rng.choices(["dense", "sparse", "multi_vector"], [0.85, 0.08, 0.07])[0]
    dim = rng.choice([64, 128, 256, 384, 512, 768, 1024, 1536, 3072, 4096])
    dims = [dim] + ([d for d in (512, 256, 128, 64) if d < dim] if rng.random() < 0.3 else [])
    if rng.random() < 0.05:
        dims = []
    langs = [] if rng.random() < 0.1 else (["eng"] + rng.sample(LANGS[1:], rng.randint(0, 9)) if rng.random() < 0.9
                                             else rng.sample(LANGS[1:], rng.randint(1, 3)))
    params = None if rng.random() < 0.12 else rng.choice(
        [22_000_000, 33_000_000, 110_000_000, 335_000_000, 568_000_000, 1_500_000_000, 7_000_000_000,
         rng.randint(10_000_000, 9_000_000_000)])
    scores = []
    if rng.random() < 0.8:
        for col in MTEB:
            if rng.random() < 0.85:
                scores.append({"benchmark": "MTEB(eng, v2)", "task_type": _TASK_TYPES[col], "task": "mean",
                               "metric": "main_score", "value": round(rng.uniform(20, 92), 2),
                               "source": "synthetic"})
        if rng.random() < 0.8:
            scores.append({"benchmark": "MTEB(eng, v2)", "task_type": "Mean", "task": "Mean (Task)",
                           "metric": "main_score", "value": round(rng.uniform(40, 78), 2), "source": "synthetic"})
    if rng.random() < 0.5:
        scores.append({"benchmark": "MTEB(Multilingual, v2)", "task_type": "Mean", "task": "Mean (Task)",
                       "metric": "main_score", "value": round(rng.uniform(35, 70), 2), "source": "synthetic"})
    status = "discovered" if rng.random() < 0.2 else "curated"
    data: dict[str, Any] = {
        "id": f"org{i % 97}/model-{i}", "name": f"Model {i}", "provider": f"org{i % 97}", "status": status,
        "modality": modality, "input_modalities": inputs, "output": output,
        "domains": rng.sample(DOMAINS, rng.randint(1, 2)), "languages": langs, "multilingual": len(langs) > 2,
        "license": lic, "commercial_use": commercial, "open_weights": open_weights, "hosting": hosting,
        "parameters": params, "dimensions": dims,
        "max_tokens": rng.choice([None, 128, 256, 512, 2048, 8192, 32768]),
        "similarity": "cosine", "trust_remote_code": rng.random() < 0.15,
        "safetensors": rng.choice([True, True, True, False, None]) if open_weights else None,
        "release_date": dt.date(rng.randint(2019, 2025), rng.randint(1, 12), 1) if rng.random() < 0.9 else None,
        "price_per_million_tokens": (round(rng.choice([0.01, 0.02, 0.05, 0.1, 0.13, 0.18, 1.0, 5.0]), 2)
                                     if hosting != "self_host" and rng.random() < 0.85 else None),
        "downloads": rng.choice([None, 0, rng.randint(10, 10**8)]), "likes": rng.randint(0, 5000),
        "scores": scores,
    }
    if data["price_per_million_tokens"] is not None:
        data["price_date"] = dt.date(2026, 6, 1)
    if status == "curated":
        data["sources"] = {f: {"ref": "synthetic"} for f in FACT_FIELDS
                           if (data.get(f) is not None and data.get(f) != [])
                           or (f in ("safetensors", "trust_remote_code") and data.get("open_weights"))}
    return ModelRecord.model_validate(data)


def random_records(n: int, seed: int = 0) -> list[ModelRecord]:
    rng = random.Random(seed)
    return [random_record(rng, i) for i in range(n)]


def random_rows(n: int, seed: int = 0) -> list[dict]:
    """`models` table rows, as the engine reads them from SQLite."""
    from embedwise.kb.store import record_to_row

    return [record_to_row(r) for r in random_records(n, seed)]


def random_requirements(rng: random.Random) -> Requirements:
    """Plausible, non-contradictory requirements."""
    modality = rng.choices(["text", "image", "audio", "video", "multimodal"], [0.7, 0.1, 0.05, 0.05, 0.1])[0]
    task = rng.choice([t for t in TASKS if t != "code_search"] + (["code_search"] if modality == "text" else []))
    langs = rng.sample(LANGS, rng.randint(0, 3)) if rng.random() < 0.5 else ["eng"]
    cross_lingual = len(langs) >= 2 and rng.random() < 0.3
    hosting = rng.choice(["self_host", "api", "any", "any"])
    on_prem = hosting != "api" and rng.random() < 0.3
    etype = rng.choice(["auto", "auto", "auto", "dense", "sparse", "hybrid", "multi_vector"])
    if modality in ("image", "audio", "video") and etype in ("sparse", "hybrid"):
        etype = "dense"
    data = {
        "task": task,
        "data": {"modality": modality,
                 "query_modality": rng.choice([None, None, "text", "image", "multimodal"]),
                 "languages": langs, "cross_lingual": cross_lingual, "domain": rng.choice(DOMAINS),
                 "keyword_heavy": rng.random() < 0.3, "avg_doc_tokens": rng.choice([50, 300, 1000, 5000]),
                 "documents": rng.choice([1000, 50_000, 1_000_000, 20_000_000, 500_000_000])},
        "deployment": {"hosting": hosting, "data_must_stay_on_premises": on_prem,
                       "hardware": rng.choice(["cpu", "gpu"]),
                       "gpu_memory_gb": rng.choice([None, 8, 16, 24, 80]),
                       "latency_p95_ms": rng.choice([None, None, 20, 50, 100, 200, 1000]),
                       "queries_per_day": rng.choice([0, 1000, 50_000, 2_000_000])},
        "budget": {"monthly_usd": rng.choice([None, 0, 10, 100, 1000, 100_000]),
                   "priority": rng.choice(["accuracy", "balanced", "cost"])},
        "license": {"commercial_use": rng.random() < 0.7, "permissive_only": rng.random() < 0.2},
        "constraints": {"max_dimensions": rng.choice([None, None, 256, 768, 1024]),
                        "max_parameters": rng.choice([None, None, 100_000_000, 600_000_000, 8_000_000_000]),
                        "embedding_type": etype, "fine_tuning": rng.random() < 0.2},
    }
    if task == "cross_modal_search" and data["data"]["query_modality"] is None:
        data["data"]["query_modality"] = "text" if modality != "text" else "image"
    return Requirements.model_validate(data)

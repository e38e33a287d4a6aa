"""What a validation produces: one `ModelRun` per model, the paired `Comparison`s, and the `Report` that holds them.

The report's JSON is the `validate --json` contract: `{"runs": [{"model", "status", "metrics", "speed", "robustness",
"cost", ...}], ...}`.
"""
from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

MAIN_METRIC = {"retrieval": "ndcg_at_10", "classification": "accuracy", "sts": "cosine_spearman",
               "clustering": "v_measure"}


class ModelRun(BaseModel):
    model_config = ConfigDict(extra="allow")

    model: str
    status: Literal["ok", "failed"]
    error: str | None = None
    kind: str | None = None
    model_id: str | None = None
    info: dict[str, Any] = {}
    metrics: dict[str, float] = {}
    speed: dict[str, Any] = {}
    robustness: dict[str, Any] = {}
    cost: dict[str, Any] = {}
    per_query: dict[str, dict[str, float]] = {}  # retrieval: metric -> query id -> value
    per_experiment: dict[str, list[float]] = {}  # classification / clustering: metric -> one value per experiment/run
    per_pair: list[float] = []  # STS: the predicted cosine of each pair
    seconds: dict[str, float] = {}
    cache: dict[str, int] = {}
    # integration, as deployed (retrieval; `validate --index/--compression/--hybrid/--rerank`)
    index: list[dict[str, Any]] = []  # one entry per index setting: kind, params, recall_at_10, metrics, build_s, ...
    # one entry per setting: precision, dims, ndcg_at_10, recall_at_100, bytes_per_vector, rescore, loss (vs float32),
    # index_mb_at_user_docs (at `documents`), pareto, recommended (the smallest within the allowed nDCG@10 loss)
    compression: list[dict[str, Any]] = []
    hybrid: dict[str, Any] = {}
    rerank: dict[str, Any] = {}
    notes: list[str] = []


class Comparison(BaseModel):
    a: str
    b: str
    metric: str
    test: str
    n: int
    mean_a: float
    mean_b: float
    diff: float
    p_value: float
    significant: bool
    details: dict[str, Any] = {}


class Report(BaseModel):
    model_config = ConfigDict(extra="allow")

    run_id: str
    created_at: str
    task: str
    main_metric: str
    synthetic: bool
    dataset: dict[str, Any]
    runs: list[ModelRun]
    comparisons: list[Comparison] = []
    best: str | None = None
    shortlist: list[str] | None = None
    settings: dict[str, Any] = {}
    environment: dict[str, Any] = {}
    files: dict[str, str] = {}
    notes: list[str] = Field(default_factory=list)
    # `choose` only: the decision, the ranking behind it and the screening rounds (see validators/choose.py)
    decision: dict[str, Any] | None = None
    ranking: list[dict[str, Any]] | None = None
    screening: list[dict[str, Any]] | None = None

    def run(self, model: str) -> ModelRun:
        return next(r for r in self.runs if r.model == model)

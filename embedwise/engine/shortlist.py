"""The result of one evaluation: ranked candidates, excluded models with every reason, advice, estimates.

`Shortlist.model_dump(mode="json")` is the `embedwise recommend --json` contract: the keys `shortlist`
([{id, score, breakdown, reasons, ...}]), `excluded` ([{id, reasons: [{rule, text}]}]) and `advice`
([{rule, text}]) are fixed; other keys may be added.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, Field


class Term(BaseModel):
    term: str  # benchmark, domain, cost, hardware, popularity, ...
    value: float
    rule: str
    reason: str


class Reason(BaseModel):
    rule: str
    text: str


class Candidate(BaseModel):
    id: str
    name: str
    rank: int
    score: float
    breakdown: list[Term] = []
    reasons: list[str] = []
    estimates: dict[str, Any] = {}
    status: str = "curated"  # "discovered": hub facts only, not curated
    provider: str | None = None
    hosting: str | None = None
    family: str | None = None
    # The benchmark figures behind the score: [{benchmark, task_type, language, value, zero_shot_pct, weight, ...}]
    evidence: list[dict[str, Any]] = []
    evidence_basis: str = "none"  # matched | related | family | none
    uncertainty: str = "high"  # low | medium | high: how far the benchmark evidence can be trusted for this case
    cost: dict[str, Any] = {}  # {one_off_usd, monthly_usd, storage_gb, breakdown}
    risks: list[str] = []  # unknown facts under a hard limit: confirm them before relying on the model


class Exclusion(BaseModel):
    id: str
    name: str | None = None
    status: str = "curated"
    reasons: list[Reason]


class Advice(BaseModel):
    rule: str
    text: str
    step: str = ""


class RelaxOption(BaseModel):
    relax: str  # the requirement to change
    rules: list[str]
    brings_back: int
    models: list[str] = []  # the best of those it brings back


class Relaxation(BaseModel):
    excluded_by: list[dict[str, Any]] = []  # [{rule, relax, excludes: N}], most first
    best: RelaxOption | None = None
    options: list[RelaxOption] = []
    feasible: list[str] = []  # for limits no model meets: the value that would be feasible


class Shortlist(BaseModel):
    shortlist: list[Candidate] = []
    excluded: list[Exclusion] = []
    advice: list[Advice] = []
    relaxation: Relaxation | None = None
    estimates: dict[str, Any] = {}  # the assumptions behind every estimate
    requirements: dict[str, Any] = {}
    total_models: int = 0
    survivors: int = 0
    validate_these: list[str] = []  # strong candidates without the matching benchmark figure
    engine: dict[str, Any] = Field(default_factory=dict)  # shape, rules, timings

    def candidate(self, model_id: str) -> Candidate | None:
        return next((c for c in self.shortlist if c.id == model_id), None)

    def exclusion(self, model_id: str) -> Exclusion | None:
        return next((e for e in self.excluded if e.id == model_id), None)


@dataclass
class Evaluation:
    """What the rules decided, before ranking: the same structure from the engine and from the oracle."""

    active: set[str] = field(default_factory=set)  # rules whose requirements condition held
    derived: set[str] = field(default_factory=set)
    excludes: dict[str, list[str]] = field(default_factory=dict)  # model id -> exclude rule ids (file order)
    terms: dict[str, list[tuple[str, float]]] = field(default_factory=dict)  # surviving model -> [(rule, value)]
    advice: list[str] = field(default_factory=list)  # advise rules without a match that fired
    advice_matches: dict[str, set[str]] = field(default_factory=dict)  # advise rule with a match -> survivors

    def canonical(self) -> dict:
        return {
            "active": sorted(self.active), "derived": sorted(self.derived),
            "excludes": {k: list(v) for k, v in sorted(self.excludes.items()) if v},
            "terms": {k: [(r, round(x, 6)) for r, x in v] for k, v in sorted(self.terms.items()) if v},
            "advice": list(self.advice),
            "advice_matches": {k: sorted(v) for k, v in sorted(self.advice_matches.items()) if v},
        }

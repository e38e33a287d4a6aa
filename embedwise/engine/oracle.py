"""A plain-Python evaluator of the same rule files: the test oracle for the durable-rules engine.

It is deliberately naive and shares no evaluation code with `compile.py`: for every model and every rule it walks
the parsed condition trees, resolving requirement references as it goes, and derives facts by iterating to a
fixpoint. The property tests check that the engine and this agree on random knowledge bases and requirements.
"""
from __future__ import annotations

import math
from typing import Any

from embedwise.engine.rules import Group, Ref, Rule, RuleSet, ScoreSpec, Test
from embedwise.engine.shortlist import Evaluation

_MISSING = object()


def _resolve(operand: Any, req: dict) -> Any:
    if isinstance(operand, Ref):
        value = req.get(operand.path)
        return _MISSING if _empty(value) else value
    return operand


def _empty(v: Any) -> bool:
    return v is None or (isinstance(v, list) and len(v) == 0)


def holds(cond: Any, facts: dict, req: dict) -> bool:
    """Does a condition hold over `facts` (a model view or the requirements view)?"""
    if isinstance(cond, Group):
        results = [holds(c, facts, req) for c in cond.items]
        return all(results) if cond.kind == "all" else any(results)
    assert isinstance(cond, Test)
    v = facts.get(cond.field)
    o = _resolve(cond.operand, req)
    if o is _MISSING:
        return False
    op = cond.op
    if op == "missing":
        return _empty(v) == o
    if op == "eq":
        return v is not None and v == o
    if op == "ne":
        return not (v is not None and v == o)
    if op == "in":
        return v is not None and v in list(o)
    if op == "not_in":
        return not (v is not None and v in list(o))
    if op in ("gt", "ge", "lt", "le"):
        if v is None:
            return False
        return {"gt": v > o, "ge": v >= o, "lt": v < o, "le": v <= o}[op]
    items = v if isinstance(v, list) else []
    if op == "contains":
        return o in items
    if op == "not_contains":
        return o not in items
    wanted = list(o)
    if op == "contains_all":
        return bool(items) and all(x in items for x in wanted)
    if op == "not_contains_all":
        return not (bool(items) and all(x in items for x in wanted))
    if op == "contains_any":
        return any(x in items for x in wanted)
    if op == "not_contains_any":
        return not any(x in items for x in wanted)
    raise ValueError(f"unknown operator {op}")


def score_value(spec: ScoreSpec, model: dict, req: dict) -> float | None:
    """The term a score rule adds for this model, or None when its value is unknown."""
    if spec.value is None:
        return spec.weight
    v = model.get(spec.value)
    if v is None:
        return None
    lo, hi = (req.get(s.path) if isinstance(s, Ref) else s for s in spec.scale)
    if lo is None or hi is None or lo == hi:
        return None
    if spec.transform == "log10":
        v = math.log10(v) if v > 0 else 0.0
    frac = (v - lo) / (hi - lo)
    frac = min(1.0, max(0.0, frac))
    return round(spec.weight * frac, 3)


def active_rules(ruleset: RuleSet, req: dict) -> tuple[set[str], set[str]]:
    """Rules whose requirements side holds, with forward chaining over derived facts (to a fixpoint)."""
    derived: set[str] = set()
    active: set[str] = set()
    changed = True
    while changed:
        changed = False
        for rule in ruleset.rules:
            if rule.id in active:
                continue
            if all(n in derived for n in rule.needs) and (rule.when is None or holds(rule.when, req, req)):
                active.add(rule.id)
                changed = True
                if rule.outcome == "derive":
                    derived.add(rule.text)
    return active, derived


def evaluate(ruleset: RuleSet, req: dict, views: list[dict]) -> Evaluation:
    """Every rule against every model, one at a time."""
    active, derived = active_rules(ruleset, req)
    ev = Evaluation(active=active, derived=derived)
    for rule in ruleset.rules:
        if rule.outcome == "advise" and rule.id in active and rule.match is None:
            ev.advice.append(rule.id)
    for model in views:
        excluded = False
        for rule in ruleset.rules:  # exclusions first: a model that is out gets no score terms or advice
            if rule.outcome == "exclude" and rule.id in active and (
                    rule.match is None or holds(rule.match, model, req)):
                _record(ev, rule, model, req)
                excluded = True
        if excluded:
            continue
        for rule in ruleset.rules:
            if rule.id not in active or rule.outcome in ("derive", "exclude"):
                continue
            if rule.outcome == "advise" and rule.match is None:
                continue
            if rule.match is not None and not holds(rule.match, model, req):
                continue
            _record(ev, rule, model, req)
    return ev


def _record(ev: Evaluation, rule: Rule, model: dict, req: dict) -> None:
    mid = model["id"]
    if rule.outcome == "exclude":
        ev.excludes.setdefault(mid, []).append(rule.id)
    elif rule.outcome == "score":
        value = score_value(rule.score, model, req)
        if value is not None:
            ev.terms.setdefault(mid, []).append((rule.id, value))
    elif rule.outcome == "advise":
        ev.advice_matches.setdefault(rule.id, set()).add(mid)

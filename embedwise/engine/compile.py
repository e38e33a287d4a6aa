"""Compile the rule files into durable-rules rulesets and evaluate them.

The shape, chosen by measurement (bench/recommend.py): the rules reason over the *requirements* inside durable-rules
(one requirements fact per session, forward chaining through `derive` rules), which fires O(rules) actions. Each rule
that fires there activates its model-side condition, which is then applied to all models at once as a compiled
Python predicate (requirement references resolved to constants first), keeping a per-model verdict and reason.
The other shape, one fact per model (`evaluate_per_model`), is kept for the benchmark: it fires models x rules actions.
Measured on a 2-core machine (bench/recommend.py): at 10,000 models the rule evaluation takes ~47 ms in this shape
against ~2.8 s with one fact per model (~60x), and ~120 ms for the plain-Python oracle.

durable-rules 2.0.28 needs care (see shared/NOTES-durable-rules.md): a host without its timer thread, installed
before any ruleset is registered; one lock around every call into it; a unique id on every fact; a catch-all rule on
a field of our own (`kind`); the session state checked for `exception`; `delete_state` after every session;
floats that the engine can parse; ruleset names never reused.
"""
from __future__ import annotations

import itertools
import math
import threading
from typing import Any, Callable

from embedwise.engine.rules import Group, Ref, Rule, RuleSet, Test
from embedwise.engine.shortlist import Evaluation
from embedwise.errors import EmbedwiseError

_LOCK = threading.RLock()
_HOST = None
_NAMES = itertools.count(1)
_SIDS = itertools.count(1)
_COMPILED: dict[str, "CompiledRules"] = {}
_TRUE = {"$ex": {"kind": 1}}
_FALSE = {"$ex": {"_never_": 1}}


class EngineError(EmbedwiseError):
    exit_code = 1


def host():
    """The process's one durable-rules host, without the timer thread that takes over pending actions."""
    global _HOST
    with _LOCK:
        if _HOST is None:
            from durable import engine

            class QuietHost(engine.Host):
                def _run(self) -> None:  # no dispatch/timer threads: every call runs to completion in the caller
                    pass

            _HOST = QuietHost()
        return _HOST


# --- values and expressions ------------------------------------------------------------------------------------------

def key(path: str) -> str:
    return path.replace(".", "__")


def sanitize(value: Any) -> Any:
    """durable-rules rejects floats written with an exponent (1e-05, 1e+20): scale them into plain decimals."""
    if isinstance(value, float):
        if not math.isfinite(value):
            return None
        if value != 0 and abs(value) < 1e-4:
            return 0.0
        if abs(value) >= 1e15:
            return int(value)
        return value
    if isinstance(value, list):
        return [sanitize(v) for v in value]
    return value


def flatten(view: dict) -> dict:
    """A view as a durable-rules fact: dotted paths to keys, unknown values (null, []) left out."""
    out = {}
    for path, value in view.items():
        if value is None or (isinstance(value, list) and not value):
            continue
        out[key(path)] = sanitize(value)
    return out


def _and(items: list) -> dict:
    items = [i for i in items if i != _TRUE]
    if any(i == _FALSE for i in items):
        return _FALSE
    if not items:
        return _TRUE
    return items[0] if len(items) == 1 else {"$and": items}


def _or(items: list) -> dict:
    items = [i for i in items if i != _FALSE]
    if any(i == _TRUE for i in items):
        return _TRUE
    if not items:
        return _FALSE
    return items[0] if len(items) == 1 else {"$or": items}


def to_durable(cond: Any, resolve: Callable[[Ref], Any] | None = None) -> dict:
    """A condition as a durable-rules expression over one flattened fact."""
    if isinstance(cond, Group):
        parts = [to_durable(c, resolve) for c in cond.items]
        return _and(parts) if cond.kind == "all" else _or(parts)
    assert isinstance(cond, Test)
    k, op, o = key(cond.field), cond.op, cond.operand
    if isinstance(o, Ref):
        o = resolve(o) if resolve else None
        if o is None or (isinstance(o, list) and not o):
            return _FALSE
    o = sanitize(list(o)) if isinstance(o, (tuple, list)) else sanitize(o)
    absent = {"$nex": {k: 1}}
    present = {"$ex": {k: 1}}
    if op == "missing":
        return absent if o else present
    if op == "eq":
        return {k: o}
    if op == "ne":
        return _or([{"$neq": {k: o}}, absent])
    if op == "in":
        return _or([{k: x} for x in o])
    if op == "not_in":
        return _or([_and([{"$neq": {k: x}} for x in o]), absent])
    if op in ("gt", "ge", "lt", "le"):
        return {{"gt": "$gt", "ge": "$gte", "lt": "$lt", "le": "$lte"}[op]: {k: o}}
    if op == "contains":
        return {"$iany": {k: {"$i": o}}}
    if op == "not_contains":
        return _or([{"$iall": {k: {"$neq": {"$i": o}}}}, absent])
    if op == "contains_all":
        return _and([present] + [{"$iany": {k: {"$i": x}}} for x in o])
    if op == "not_contains_all":
        return _or([absent] + [{"$iall": {k: {"$neq": {"$i": x}}}} for x in o])
    if op == "contains_any":
        if not o:
            return _FALSE
        return {"$iany": {k: _or([{"$i": x} for x in o])}}
    if op == "not_contains_any":
        if not o:
            return _TRUE
        return _or([{"$iall": {k: _and([{"$neq": {"$i": x}} for x in o])}}, absent])
    raise ValueError(f"unknown operator {op}")


# --- model-side predicates: compiled once per evaluation, applied to every model -------------------------------------

def compile_predicate(cond: Any, req: dict) -> Callable[[dict], bool]:
    """A condition as one generated Python function of a model view, requirement references as constants."""
    consts: dict[str, Any] = {}
    source = f"lambda v: {_py(cond, req, consts)}"
    namespace = {"__builtins__": {"bool": bool}, **consts}
    return eval(compile(source, "<rule predicate>", "eval"), namespace)  # noqa: S307 - our own generated source


def _py(cond: Any, req: dict, consts: dict) -> str:
    """Python source for a condition; operands are bound as named constants, never spliced into the text."""
    if isinstance(cond, Group):
        joiner = " and " if cond.kind == "all" else " or "
        return "(" + joiner.join(_py(c, req, consts) for c in cond.items) + ")"
    f, op, o = cond.field, cond.op, cond.operand
    if isinstance(o, Ref):
        o = req.get(o.path)
        if o is None or (isinstance(o, list) and not o):
            return "False"
    name = f"c{len(consts)}"
    if op in SET_LIKE:
        consts[name] = frozenset(o)
    else:
        consts[name] = o
    x = f"v[{f!r}]"
    if op == "missing":
        return f"({x} is None or {x} == [])" if o else f"({x} is not None and {x} != [])"
    if op == "eq":
        return f"({x} is not None and {x} == {name})"
    if op == "ne":
        return f"({x} is None or {x} != {name})"
    if op == "in":
        return f"({x} is not None and {x} in {name})"
    if op == "not_in":
        return f"({x} is None or {x} not in {name})"
    if op in ("gt", "ge", "lt", "le"):
        sym = {"gt": ">", "ge": ">=", "lt": "<", "le": "<="}[op]
        return f"({x} is not None and {x} {sym} {name})"
    if op == "contains":
        return f"({name} in ({x} or ()))"
    if op == "not_contains":
        return f"({name} not in ({x} or ()))"
    if op == "contains_all":
        return f"(bool({x}) and {name}.issubset({x}))"
    if op == "not_contains_all":
        return f"(not ({x} and {name}.issubset({x})))"
    if op == "contains_any":
        return f"(not {name}.isdisjoint({x} or ()))"
    if op == "not_contains_any":
        return f"{name}.isdisjoint({x} or ())"
    raise ValueError(f"unknown operator {op}")


SET_LIKE = {"in", "not_in", "contains_all", "not_contains_all", "contains_any", "not_contains_any"}


def term_values(rule: Rule, models: list[dict], req: dict) -> list[tuple[str, float]]:
    spec = rule.score
    if spec.value is None:
        return [(m["id"], spec.weight) for m in models]
    lo, hi = (req.get(s.path) if isinstance(s, Ref) else s for s in spec.scale)
    if lo is None or hi is None or lo == hi:
        return []
    span = hi - lo
    log = spec.transform == "log10"
    out = []
    for m in models:
        x = m.get(spec.value)
        if x is None:
            continue
        if log:
            x = math.log10(x) if x > 0 else 0.0
        out.append((m["id"], round(spec.weight * min(1.0, max(0.0, (x - lo) / span)), 3)))
    return out


# --- the requirements-side ruleset -----------------------------------------------------------------------------------

class _Collector:
    def __init__(self, sid: str):
        self.sid = sid
        self.fired: list[str] = []
        self.derived: list[str] = []


class CompiledRules:
    """The rule files as one durable-rules ruleset over the requirements fact and the derived facts."""

    def __init__(self, ruleset: RuleSet):
        self.ruleset = ruleset
        self.name = f"embedwise_{ruleset.fingerprint}_{next(_NAMES)}"
        self._current: _Collector | None = None
        definition: dict[str, dict] = {}
        for index, rule in enumerate(ruleset.rules):
            req_expr = _and([{"kind": "req"}, to_durable(rule.when) if rule.when is not None else _TRUE])
            if rule.needs:
                patterns = [{"r": req_expr}] + [{f"d{i}": {"$and": [{"kind": "derived"}, {"name": n}]}}
                                                for i, n in enumerate(rule.needs)]
            else:
                patterns = [{"m": req_expr}]
            definition[f"r{index}"] = {"all": patterns, "run": self._action(rule)}
        # Every fact must match some rule, or durable-rules refuses it: a catch-all on our own field.
        definition["catch_all"] = {"all": [{"m": {"$ex": {"kind": 1}}}], "run": self._noop()}
        with _LOCK:
            host().register_rulesets({self.name: definition})

    def _noop(self) -> Callable:
        def catch_all(c):
            return None

        return catch_all

    def _action(self, rule: Rule) -> Callable:
        rid, derive = rule.id, (rule.text if rule.outcome == "derive" else None)
        compiled = self

        def action(c):
            col = compiled._current
            if col is None or c.s["sid"] != col.sid:
                raise RuntimeError(f"rule {rid} fired outside its session")
            col.fired.append(rid)
            if derive and derive not in col.derived:
                col.derived.append(derive)
                c.assert_fact({"kind": "derived", "name": derive, "id": f"derived:{derive}", "sid": col.sid})

        return action

    def session(self, req: dict) -> tuple[set[str], set[str]]:
        """Assert the requirements in a fresh session; return the rules that fired and the derived facts."""
        with _LOCK:
            sid = f"s{next(_SIDS)}"
            col = _Collector(sid)
            self._current = col
            h = host()
            try:
                fact = {"kind": "req", "id": f"req:{sid}", "sid": sid, **flatten(req)}
                h.assert_fact(self.name, fact)
                state = h.get_state(self.name, sid)
                if state.get("exception"):
                    raise EngineError(f"a rule action failed in durable-rules: {str(state['exception'])[:500]}")
            finally:
                self._current = None
                try:
                    h.delete_state(self.name, sid)
                except Exception:  # noqa: BLE001 - the state may not exist when the assert failed
                    pass
        return set(col.fired), set(col.derived)


def compiled(ruleset: RuleSet) -> CompiledRules:
    with _LOCK:
        c = _COMPILED.get(ruleset.fingerprint)
        if c is None:
            c = _COMPILED[ruleset.fingerprint] = CompiledRules(ruleset)
        return c


def evaluate(ruleset: RuleSet, req: dict, views: list[dict]) -> Evaluation:
    """The engine: durable-rules over the requirements, then each active rule's predicate over all models.

    Exclusions are applied to every model; score terms and advice matches only to the models that survive.
    """
    active, derived = compiled(ruleset).session(req)
    ev = Evaluation(active=active, derived=derived)
    live = [r for r in ruleset.rules if r.id in active and r.outcome != "derive"]
    for rule in live:
        if rule.outcome == "exclude":
            _apply(ev, rule, _matching(rule, views, req), req)
    survivors = [v for v in views if v["id"] not in ev.excludes]
    for rule in live:
        if rule.outcome == "advise" and rule.match is None:
            ev.advice.append(rule.id)
        elif rule.outcome != "exclude":
            _apply(ev, rule, _matching(rule, survivors, req), req)
    return ev


def _matching(rule: Rule, views: list[dict], req: dict) -> list[dict]:
    if rule.match is None:
        return views
    pred = compile_predicate(rule.match, req)
    return [v for v in views if pred(v)]


def _apply(ev: Evaluation, rule: Rule, matched: list[dict], req: dict) -> None:
    if rule.outcome == "exclude":
        excludes = ev.excludes
        rid = rule.id
        for v in matched:
            mid = v["id"]
            if mid in excludes:
                excludes[mid].append(rid)
            else:
                excludes[mid] = [rid]
    elif rule.outcome == "score":
        terms = ev.terms
        for mid, value in term_values(rule, matched, req):
            if mid in terms:
                terms[mid].append((rule.id, value))
            else:
                terms[mid] = [(rule.id, value)]
    elif rule.outcome == "advise":
        ev.advice_matches[rule.id] = {v["id"] for v in matched}


# --- the other shape: one fact per model (for the benchmark) ---------------------------------------------------------

def evaluate_per_model(ruleset: RuleSet, req: dict, views: list[dict]) -> Evaluation:
    """One durable-rules fact per model; every active rule's model condition matched inside durable-rules.

    Registers a new ruleset for these requirements (requirement references become constants), so it is for
    measurement only: durable-rules cannot unregister a ruleset.
    """
    active, derived = compiled(ruleset).session(req)
    ev = Evaluation(active=active, derived=derived)
    hits: dict[str, list[str]] = {}
    definition: dict[str, dict] = {}

    def make(rid: str) -> Callable:
        def action(c):
            hits.setdefault(rid, []).append(c.m["mid"])

        return action

    for index, rule in enumerate(ruleset.rules):
        if rule.id not in active or rule.outcome == "derive":
            continue
        if rule.outcome == "advise" and rule.match is None:
            ev.advice.append(rule.id)
            continue
        expr = to_durable(rule.match, lambda r: req.get(r.path)) if rule.match is not None else _TRUE
        definition[f"r{index}"] = {"all": [{"m": _and([{"kind": "model"}, expr])}], "run": make(rule.id)}
    definition["catch_all"] = {"all": [{"m": {"$ex": {"kind": 1}}}], "run": _catch_all}
    name = f"embedwise_per_model_{next(_NAMES)}"
    sid = "per_model"
    facts = []
    for i, v in enumerate(views):
        fact = flatten({k: val for k, val in v.items() if k != "id"})
        fact.update({"kind": "model", "mid": v["id"], "id": f"m{i}", "sid": sid})
        facts.append(fact)
    with _LOCK:
        h = host()
        h.register_rulesets({name: definition})
        try:
            h.assert_facts(name, facts)
            state = h.get_state(name, sid)
            if state.get("exception"):
                raise EngineError(f"a rule action failed in durable-rules: {str(state['exception'])[:500]}")
        finally:
            h.delete_state(name, sid)
    # A disjunction fires once per alternative that holds (durable-rules expands `$or` into paths): dedupe.
    hits = {rid: list(dict.fromkeys(mids)) for rid, mids in hits.items()}
    by_model = {v["id"]: v for v in views}
    for rule in ruleset.rules:  # file order, as the other shape: exclusions first, then survivors only
        if rule.id in hits and rule.outcome == "exclude":
            _apply(ev, rule, [by_model[m] for m in hits[rule.id]], req)
    for rule in ruleset.rules:
        if rule.outcome in ("score", "advise") and rule.id in active and (rule.match is not None
                                                                          or rule.outcome == "score"):
            matched = [by_model[m] for m in hits.get(rule.id, []) if m not in ev.excludes]
            _apply(ev, rule, matched, req)
    return ev


def _catch_all(c):
    return None

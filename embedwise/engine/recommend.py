"""The public API: requirements in, a ranked and explained shortlist out.

    from embedwise.engine.recommend import recommend, why
    shortlist = recommend(requirements)            # the knowledge base at embedwise.paths.kb_path()
    print(why(shortlist, "BAAI/bge-m3"))
"""
from __future__ import annotations

import gc
import time
from pathlib import Path
from typing import Any, Literal

from embedwise.engine.estimates import (
    assumptions,
    estimates_for,
    model_view,
    prepare_rows,
    req_view,
)
from embedwise.engine.requirements import Requirements
from embedwise.engine.rules import RuleSet, load_rules, render_text
from embedwise.engine.shortlist import (
    Advice,
    Candidate,
    Evaluation,
    Exclusion,
    Reason,
    Relaxation,
    RelaxOption,
    Shortlist,
    Term,
)

Engine = Literal["durable", "oracle", "per_model"]


def _db(db: Any):
    import sqlite_utils

    if db is None or isinstance(db, (str, Path)):
        from embedwise.kb.store import open_db

        db = open_db(Path(db) if db is not None else None)
    assert isinstance(db, sqlite_utils.Database)
    return db


def load_rows(db: Any = None) -> list[dict]:
    """Every model row of the knowledge base (a sqlite_utils Database, a path, or None for the default)."""
    return list(_db(db).query("SELECT * FROM models ORDER BY id"))


def load_context(db: Any = None, benchmarks: list[str] | None = None) -> dict:
    """What the ranking reads beside the model rows: comparable benchmark means (of `benchmarks`, or all) and the
    hardware price table."""
    db = _db(db)
    scores: dict[str, list[dict]] = {}
    where = "comparable = 1 AND (task = 'mean' OR task_type = 'Mean')"
    params: list = []
    if benchmarks is not None:
        where += f" AND benchmark IN ({','.join('?' * len(benchmarks))})"
        params = list(benchmarks)
    for s in db.query("SELECT model_id, benchmark, task_type, task, value, comparable, zero_shot_pct, self_reported, "
                      f"language FROM scores WHERE {where}", params):
        scores.setdefault(s["model_id"], []).append(s)
    from embedwise.kb.store import load_hardware_prices

    hardware = load_hardware_prices(db) if db["hardware_prices"].exists() else []
    return {"scores": scores, "hardware": hardware}


def _evidence(req: Requirements, rows: list[dict], scores: dict[str, list[dict]]) -> dict[str, dict]:
    """Each model's benchmark evidence for these requirements; models without it placed by family or base model."""
    from embedwise.engine import evidence as evm

    wants = evm.plan(req)
    figs = {r["id"]: evm.figures(scores.get(r["id"], []), wants) for r in rows}
    pct = evm.percentiles(figs)
    out = {mid: evm.evidence_for(mid, f, pct, wants) for mid, f in figs.items()}
    by_family: dict[str, list[float]] = {}
    for r in rows:
        if r.get("family") and out[r["id"]]["score"] is not None:
            by_family.setdefault(r["family"], []).append(out[r["id"]]["score"])
    wanted = wants[0].label if wants else "this case"
    for r in rows:
        ev = out[r["id"]]
        if ev["score"] is None:
            base = out.get(r.get("base_model") or "")
            kin = by_family.get(r.get("family") or "")
            if base and base["score"] is not None:
                standing, by = base["score"], f"its base model {r['base_model']}"
            elif kin:
                standing, by = sum(kin) / len(kin), f"its family {r['family']} (average)"
            else:
                standing, by = None, None
            if standing is not None:  # a relative's standing, 10% less: wide uncertainty either way
                ev.update(score=round(standing * 0.9, 1), basis="family",
                          note=f"no figure for {wanted}; placed by {by}, {standing:.0f}/100 on the matching "
                               "benchmarks, wide uncertainty: validate it on your data")
            else:
                ev.update(score=35.0, basis="none", note=f"no benchmark figure for {wanted}: placed below the "
                                                         "median, wide uncertainty; validate it on your data")
        ev["text"] = evm.describe(ev)
    return out


def recommend(req: Requirements, db: Any = None, top: int | None = None, *, rules: RuleSet | str | Path | None = None,
              engine: Engine = "durable", rows: list[dict] | None = None, context: dict | None = None) -> Shortlist:
    """Evaluate the rules for these requirements against the knowledge base.

    `top` limits the ranked candidates (all survivors when None); the excluded list is always complete.
    `engine` is "durable" (durable-rules; the default), "oracle" (the plain-Python evaluator) or "per_model"
    (durable-rules with one fact per model; for the benchmark).
    """
    gc_was_enabled = gc.isenabled()
    gc.disable()  # the evaluation allocates many small objects and frees none: collections only cost time
    try:
        return _recommend(req, db, top, rules, engine, rows, context)
    finally:
        if gc_was_enabled:
            gc.enable()


def _recommend(req: Requirements, db: Any, top: int | None, rules: RuleSet | str | Path | None, engine: Engine,
               rows: list[dict] | None, context: dict | None) -> Shortlist:
    t0 = time.perf_counter()
    ruleset = rules if isinstance(rules, RuleSet) else load_rules(rules)
    if rows is None:
        rows = load_rows(db)
        if context is None:
            from embedwise.engine.evidence import plan

            context = load_context(db, sorted({w.benchmark for w in plan(req)}))
    context = context or {"scores": {}, "hardware": []}
    rows = prepare_rows(rows)  # a no-op for rows that were prepared before
    t1 = time.perf_counter()
    rv = req_view(req)
    ctx = {"evidence": _evidence(req, rows, context.get("scores") or {}), "hardware": context.get("hardware") or []}
    views = [model_view(r, req, rv, ctx) for r in rows]
    t2 = time.perf_counter()
    ev = evaluate(ruleset, rv, views, engine)
    t3 = time.perf_counter()
    shortlist = build_shortlist(ruleset, req, rv, views, ev, top)
    t4 = time.perf_counter()
    shortlist.engine = {
        "engine": engine, "rules": len(ruleset.rules), "rules_fired": len(ev.active),
        "derived": sorted(ev.derived), "rules_fingerprint": ruleset.fingerprint,
        "ms": {"load": round((t1 - t0) * 1000, 2), "views": round((t2 - t1) * 1000, 2),
               "rules": round((t3 - t2) * 1000, 2), "shortlist": round((t4 - t3) * 1000, 2),
               "total": round((t4 - t0) * 1000, 2)},
    }
    return shortlist


def evaluate(ruleset: RuleSet, rv: dict, views: list[dict], engine: Engine = "durable") -> Evaluation:
    if engine == "oracle":
        from embedwise.engine import oracle

        return oracle.evaluate(ruleset, rv, views)
    from embedwise.engine import compile as comp

    if engine == "per_model":
        return comp.evaluate_per_model(ruleset, rv, views)
    return comp.evaluate(ruleset, rv, views)


def build_shortlist(ruleset: RuleSet, req: Requirements, rv: dict, views: list[dict], ev: Evaluation,
                    top: int | None = None) -> Shortlist:
    rules = ruleset.by_id()
    by_id = {v["id"]: v for v in views}
    excluded: list[Exclusion] = []
    ranked: list[Candidate] = []
    for v in views:
        mid = v["id"]
        rule_ids = ev.excludes.get(mid)
        if rule_ids:  # model_construct: these are built from validated parts, and there may be 10,000 of them
            excluded.append(Exclusion.model_construct(
                id=mid, name=v.get("name"), status=v.get("status") or "curated",
                reasons=[Reason.model_construct(rule=r, text=render_text(rules[r].text, v, rv)) for r in rule_ids]))
            continue
        terms = []
        for rid, value in ev.terms.get(mid, []):
            spec = rules[rid].score
            shown = v.get(spec.value) if spec.value else None
            terms.append(Term.model_construct(term=spec.term, value=value, rule=rid,
                                              reason=render_text(spec.reason, v, rv, value=shown)))
        score = round(sum(t.value for t in terms), 3)
        reasons = [t.reason for t in sorted(terms, key=lambda t: -abs(t.value)) if t.value != 0]
        if v.get("status") == "discovered":
            reasons.append("discovered on the hub: facts not curated, check them before you rely on them")
        evd = v.get("evidence") or {}
        basis = evd.get("basis", "none")
        uncertainty = "low" if basis == "matched" and evd.get("coverage", 0) >= 0.5 else (
            "medium" if basis in ("matched", "related") else "high")
        ranked.append(Candidate.model_construct(
            id=mid, name=v.get("name") or mid, rank=0, score=score, breakdown=terms, reasons=reasons,
            estimates=estimates_for(v), status=v.get("status") or "curated", provider=v.get("provider"),
            hosting=v.get("hosting"), family=v.get("family"),
            evidence=[{k: e[k] for k in ("benchmark", "task_type", "language", "value", "zero_shot_pct",
                                         "self_reported", "percentile", "weight", "discount")}
                      for e in evd.get("entries", [])],
            evidence_basis=basis, uncertainty=uncertainty, cost=v.get("cost") or {},
            risks=[t.reason for t in terms if t.term == "risk" and t.value < 0]))
    ranked.sort(key=lambda c: (-c.score, c.id))
    ranked = _diversify(ranked)
    rank_of = {c.id: c.rank for c in ranked}
    advice = []
    for rule in ruleset.rules:
        if rule.outcome != "advise" or rule.id not in ev.active:
            continue
        if rule.match is None:
            if rule.id in ev.advice:
                advice.append(Advice(rule=rule.id, step=rule.step, text=render_text(rule.text, None, rv)))
            continue
        hits = sorted((m for m in ev.advice_matches.get(rule.id, ()) if m in rank_of), key=rank_of.get)
        if hits:
            advice.append(Advice(rule=rule.id, step=rule.step, text=render_text(rule.text, None, rv, models=hits[:5])))
    infeasible = _infeasible(req, views)
    if infeasible and ranked:
        # Models whose estimate is unknown would survive a limit no known model meets: refuse instead.
        for c in ranked:
            excluded.append(Exclusion.model_construct(
                id=c.id, name=c.name, status=c.status,
                reasons=[Reason.model_construct(rule="engine.infeasible", text=t) for t, _ in infeasible]))
        ranked = []
    relaxation = _relaxation(ruleset, ev, views, by_id) if not ranked else None
    if relaxation is not None and infeasible:
        relaxation.feasible = [hint for _, hint in infeasible]
        if relaxation.best is None:
            relaxation.best = RelaxOption(relax=infeasible[0][1], rules=["engine.infeasible"], brings_back=0)
    shown = ranked[:top] if top else ranked
    unmeasured = [c.id for c in ranked[:30] if c.evidence_basis in ("family", "none")
                  and c.id not in {s.id for s in shown[:10]}][:3]
    return Shortlist(
        shortlist=shown, excluded=excluded, advice=advice, relaxation=relaxation,
        estimates={"assumptions": assumptions(req)}, requirements=req.model_dump(mode="json"),
        total_models=len(views), survivors=len(ranked), validate_these=unmeasured,
    )


def _infeasible(req: Requirements, views: list[dict]) -> list[tuple[str, str]]:
    """Limits that no model in the knowledge base can meet, with the value that is feasible."""
    out = []
    budget = req.deployment.latency_p95_ms
    lows = [v["latency_low_ms"] for v in views if v.get("latency_low_ms") is not None]
    if budget is not None and lows and budget < min(lows):
        out.append((f"no model can embed a query in {budget:g} ms: the fastest estimate is {min(lows):g} ms",
                    f"deployment.latency_p95_ms: {max(min(lows), 1):g} or more"))
    dims = req.constraints.max_dimensions
    mins = [v["min_dimension"] for v in views if v.get("min_dimension")]
    if dims is not None and mins and dims < min(mins):
        out.append((f"no model produces {dims}-dimensional vectors: the smallest is {min(mins)}",
                    f"constraints.max_dimensions: {min(mins)} or more"))
    return out


MAX_PER_FAMILY_TOP5 = 2


def _diversify(ranked: list[Candidate]) -> list[Candidate]:
    """At most two models of one family in the top five: a third is moved just below the fifth place."""
    top: list[Candidate] = []
    held: list[Candidate] = []
    rest = list(ranked)
    while rest and len(top) < 5:
        c = rest.pop(0)
        fam = c.family or c.id
        if sum(1 for t in top if (t.family or t.id) == fam) >= MAX_PER_FAMILY_TOP5:
            c.reasons = c.reasons + [f"moved below the top five: two {fam} models rank above it (family diversity)"]
            held.append(c)
        else:
            top.append(c)
    out = top + held + rest
    for i, c in enumerate(out, 1):
        c.rank = i
    return out


def _relaxation(ruleset: RuleSet, ev: Evaluation, views: list[dict], by_id: dict) -> Relaxation:
    """Which constraints excluded what, and which single relaxation brings back the most models."""
    rules = ruleset.by_id()
    counts: dict[str, int] = {}
    for rule_ids in ev.excludes.values():
        for r in set(rule_ids):
            counts[r] = counts.get(r, 0) + 1
    groups: dict[str, set[str]] = {}
    for r in counts:
        groups.setdefault(rules[r].relax or f"drop rule {r}", set()).add(r)
    options = []
    for relax, members in groups.items():
        back = [mid for mid, rule_ids in ev.excludes.items() if rule_ids and set(rule_ids) <= members]
        back.sort(key=lambda m: (-(by_id[m].get("mteb_mean") or 0), m))  # best benchmark first
        options.append(RelaxOption(relax=relax, rules=sorted(members), brings_back=len(back), models=back[:5]))
    options.sort(key=lambda o: (-o.brings_back, o.relax))
    if not options or options[0].brings_back == 0:
        # no single relaxation brings anything back: the pairs that do, most first
        names = sorted(groups)
        pairs = []
        for i, a in enumerate(names):
            for b in names[i + 1:]:
                members = groups[a] | groups[b]
                back = [mid for mid, rule_ids in ev.excludes.items() if rule_ids and set(rule_ids) <= members]
                if back:
                    back.sort(key=lambda m: (-(by_id[m].get("mteb_mean") or 0), m))
                    pairs.append(RelaxOption(relax=f"{a} and {b}", rules=sorted(members), brings_back=len(back),
                                             models=back[:5]))
        pairs.sort(key=lambda o: (-o.brings_back, o.relax))
        options = pairs[:5] + options
    excluded_by = sorted(({"rule": r, "relax": rules[r].relax, "excludes": n} for r, n in counts.items()),
                         key=lambda d: (-d["excludes"], d["rule"]))
    best = options[0] if options and options[0].brings_back > 0 else None
    return Relaxation(excluded_by=excluded_by, best=best, options=options)


def why(shortlist: Shortlist, model_id: str) -> str:
    """Why a model ranks where it does, or why it was excluded."""
    from embedwise.engine.estimates import fmt

    c = shortlist.candidate(model_id)
    if c is not None:
        lines = [f"{c.id} ranks #{c.rank} of {shortlist.survivors} with score {c.score:g}"
                 + (" (discovered: facts not curated)" if c.status == "discovered" else "") + "."]
        if c.breakdown:
            lines.append("Score breakdown:")
            for t in sorted(c.breakdown, key=lambda t: -abs(t.value)):
                lines.append(f"  {t.value:+8.3f}  {t.term:<12} {t.reason}  [{t.rule}]")
        else:
            lines.append("No rule added to its score.")
        if c.evidence:
            lines.append(f"Benchmark evidence ({c.evidence_basis}, uncertainty {c.uncertainty}):")
            for e in c.evidence:
                zs = "zero-shot unknown" if e["zero_shot_pct"] is None else f"zero-shot {e['zero_shot_pct']:g}%"
                lines.append(f"  {e['benchmark']} {e['task_type']}" + (f" [{e['language']}]" if e["language"] else "")
                             + f": {e['value']:.2f} (percentile {e['percentile']:g}, weight {e['weight']:g}, {zs}"
                             + (", self-reported" if e["self_reported"] else "") + ")")
        else:
            lines.append(f"Benchmark evidence: none that matches ({c.evidence_basis}); uncertainty {c.uncertainty}.")
        if c.cost:
            lines.append(f"Cost: one-off {fmt(c.cost.get('one_off_usd'))} USD, monthly {fmt(c.cost.get('monthly_usd'))} "
                         f"USD, vectors {fmt(c.cost.get('storage_gb'))} GB")
            lines.append("  " + ", ".join(f"{k}={fmt(v)}" for k, v in (c.cost.get("breakdown") or {}).items()))
        if c.risks:
            lines.append("Risks: " + "; ".join(c.risks))
        if c.estimates:
            lines.append("Estimates: " + ", ".join(f"{k}={fmt(v)}" for k, v in c.estimates.items()))
        return "\n".join(lines)
    e = shortlist.exclusion(model_id)
    if e is not None:
        lines = [f"{e.id} is excluded:"]
        lines += [f"  - {r.text}  [{r.rule}]" for r in e.reasons]
        return "\n".join(lines)
    if shortlist.survivors > len(shortlist.shortlist):
        return (f"{model_id} is not in the top {len(shortlist.shortlist)} and not excluded; "
                "ask again without --top to see its rank")
    from embedwise.errors import NotFound

    raise NotFound(f"no model {model_id!r} in the knowledge base; try `embedwise kb query {model_id.split('/')[-1]}`")

"""The decision: the measured figures combined under the user's priority and hard limits into a verdict with its
reasons and confidence, the runner-up, the ranking, and what was not measured.

The rule, as an engineer applies it:
1. hard limits first: a finalist whose measured p95 latency, memory or cost breaks a limit of the requirements is
   ruled out, with the figure and the limit;
2. quality: the best measured figure among the rest; a candidate is *close* to it when it is within the priority's
   tolerance (accuracy 0.5, balanced 1, cost 3 points of the main metric), or not significantly worse and within
   twice that;
3. among the close ones the cheapest to run for a year wins (then the lower p95 latency, then the smaller memory);
   with priority accuracy only a statistical tie within half a point lets a cheaper one win.
Costs come from what was measured here: API prices at the user's volume, or for self-hosting the measured throughput
and capacity priced on the cheapest CPU instance of the knowledge base's hardware table (the run's own hardware class).
"""
from __future__ import annotations

import math
from typing import Any

from embedwise.validators.results import MAIN_METRIC, ModelRun

TOLERANCE = {"accuracy": 0.005, "balanced": 0.01, "cost": 0.03}
HOURS_PER_MONTH = 730


def serving_cost(run: ModelRun, documents: int, queries_per_month: int, churn: float,
                 cpu_price: dict | None) -> dict:
    """{one_off_usd, monthly_usd, first_year_usd, basis} at the user's volume, from this run's measurements."""
    c, s = run.cost or {}, run.speed or {}
    if c.get("hosting") == "api":
        price = c.get("price_per_million_tokens")
        if price is None:
            return {"one_off_usd": None, "monthly_usd": None, "first_year_usd": None, "basis": "no public price"}
        per_doc = c["corpus_tokens"] / max(c["corpus_texts"], 1)
        one_off = documents * per_doc / 1e6 * price
        monthly = (c.get("mean_query_tokens", 0) * queries_per_month + documents * churn * per_doc) / 1e6 * price
        return _costs(one_off, monthly, f"API price ${price}/1M tokens x the tokens measured on your data")
    dps, qps = s.get("best_docs_per_s"), s.get("capacity_qps") or c.get("capacity_qps")
    if qps is None:
        qps = max((lat.get("qps") or 0 for lat in s.get("latency", [])), default=0) or None
    if not dps or cpu_price is None:
        return {"one_off_usd": None, "monthly_usd": None, "first_year_usd": None,
                "basis": "no speed measured" if not dps else "no CPU price in the knowledge base"}
    hourly = cpu_price["usd_per_hour"]
    index_hours = documents / dps / 3600
    peak_qps = queries_per_month / (30 * 24 * 3600) * 3.0
    replicas = max(1, math.ceil(peak_qps / qps)) if qps else 1
    monthly = replicas * HOURS_PER_MONTH * hourly + documents * churn / dps / 3600 * hourly
    basis = (f"measured here: {dps:.1f} docs/s, {qps or 0:.1f} queries/s per replica; priced on "
             f"{cpu_price['id']} (${hourly}/h, {cpu_price.get('vcpus')} vCPU), {replicas} replica(s) at 3x the mean load")
    return {**_costs(index_hours * hourly, monthly, basis), "index_hours": round(index_hours, 2), "replicas": replicas}


def _costs(one_off: float, monthly: float, basis: str) -> dict:
    return {"one_off_usd": round(one_off, 2), "monthly_usd": round(monthly, 2),
            "first_year_usd": round(one_off + 12 * monthly, 2), "basis": basis}


def memory_mb(run: ModelRun) -> tuple[float | None, str]:
    alone = (run.speed or {}).get("model_memory") or {}
    if alone.get("model_mb") is not None:
        return alone["model_mb"], "measured alone (a fresh process)"
    value = (run.cost or {}).get("memory_mb")
    return value, (run.cost or {}).get("memory_source") or "unknown"


def limits_broken(run: ModelRun, cost: dict, req: Any) -> list[str]:
    """Each hard limit of the requirements this finalist breaks, with the measured figure."""
    out = []
    dep, budget = getattr(req, "deployment", None), getattr(req, "budget", None)
    p95 = (run.speed or {}).get("latency_p95_ms")
    if dep is not None and dep.latency_p95_ms is not None and p95 is not None and p95 > dep.latency_p95_ms:
        out.append(f"p95 latency {p95:.0f} ms measured > the {dep.latency_p95_ms:.0f} ms limit")
    mem, _ = memory_mb(run)
    if (dep is not None and dep.hardware == "gpu" and dep.hosting != "api" and dep.gpu_memory_gb and mem
            and (run.cost or {}).get("hosting") != "api" and mem > dep.gpu_memory_gb * 1024):
        out.append(f"needs {mem / 1024:.1f} GB > the {dep.gpu_memory_gb:g} GB GPU")
    if budget is not None and budget.monthly_usd is not None and (cost.get("monthly_usd") or 0) > budget.monthly_usd:
        out.append(f"${cost['monthly_usd']:,.0f}/month > the ${budget.monthly_usd:,.0f} budget")
    if budget is not None and budget.one_off_usd is not None and (cost.get("one_off_usd") or 0) > budget.one_off_usd:
        out.append(f"${cost['one_off_usd']:,.0f} to index > the ${budget.one_off_usd:,.0f} one-off budget")
    return out


def decide(finalists: list[dict], task: str, req: Any, *, comparisons: dict[tuple[str, str], Any],
           dropped: list[dict], not_measured: list[str], documents: int, queries_per_month: int,
           cpu_price: dict | None, unmeasured: list[dict] | None = None) -> tuple[dict, list[dict]]:
    """(decision, ranking). Each finalist is {"run": ModelRun, "basis": "full" | "pool", "basis_text": str}."""
    main = MAIN_METRIC[task]
    priority = getattr(getattr(req, "budget", None), "priority", "balanced") or "balanced"
    churn = getattr(getattr(req, "data", None), "monthly_churn", 0.0) or 0.0
    tol = TOLERANCE[priority]
    rows = []
    failed = [f["run"] for f in finalists if f["run"].status != "ok"]
    for f in finalists:
        run = f["run"]
        if run.status != "ok":
            continue
        cost = serving_cost(run, documents, queries_per_month, churn, cpu_price)
        mem, mem_basis = memory_mb(run)
        rows.append({"model": run.model, "value": run.metrics.get(main), "basis": f["basis"],
                     "basis_text": f["basis_text"], "cost": cost, "memory_mb": mem, "memory_basis": mem_basis,
                     "latency_p95_ms": (run.speed or {}).get("latency_p95_ms"),
                     "ruled_out": limits_broken(run, cost, req)})
    eligible = [r for r in rows if not r["ruled_out"]]
    if not eligible:
        decision = {"verdict": "no finalist meets the hard limits" if rows else "no model could be measured",
                    "model": None, "runner_up": None, "priority": priority,
                    "confidence": {"level": "high", "why": ["every finalist was measured and breaks a limit"]} if rows
                    else {"level": "low", "why": ["no model could be measured"]},
                    "reasons": [f"{r['model']}: {'; '.join(r['ruled_out'])}" for r in rows], "dropped": dropped,
                    "not_measured": not_measured, "main_metric": main}
        return decision, _ranking(rows, [], dropped, main, failed, unmeasured or [])
    def significant(a: str, b: str) -> bool:
        c = comparisons.get((a, b)) or comparisons.get((b, a))
        return bool(c and c.significant)

    best = max(eligible, key=lambda r: r["value"])
    measured = [r for r in eligible if r["basis"] == "full"]
    reference = max(measured, key=lambda r: r["value"]) if measured else None
    if best["basis"] != "full" and reference is not None and not significant(best["model"], reference["model"]):
        # a figure from a sample that is not significantly above the best one measured on the whole set does not
        # outrank it: the measured one is the reference, and the sampled one competes as close to it
        best = reference

    def close(r: dict) -> bool:
        gap = max(0.0, best["value"] - r["value"])
        tied = not significant(best["model"], r["model"])
        if priority == "accuracy":
            return r is best or (gap <= tol and tied)
        return gap <= tol or (tied and gap <= 2 * tol)

    def price(r: dict) -> tuple:
        year = r["cost"].get("first_year_usd")
        return (year if year is not None else math.inf, r["latency_p95_ms"] or math.inf, r["memory_mb"] or math.inf)

    contenders = sorted((r for r in eligible if close(r)), key=price)
    rest = sorted((r for r in eligible if not close(r)), key=lambda r: -r["value"])
    order = contenders + rest
    winner = order[0]
    runner = order[1] if len(order) > 1 else None
    reasons = _reasons(winner, best, runner, rows, main, priority, tol, significant, req)
    decision = {"model": winner["model"], "verdict": f"{winner['model']}: " + ", ".join(reasons["short"]),
                "runner_up": runner["model"] if runner else None,
                "runner_up_reason": _runner_reason(runner, winner, main) if runner else None,
                "confidence": _confidence(winner, best, runner, contenders, significant, finalists, req),
                "priority": priority, "main_metric": main, "value": winner["value"], "reasons": reasons["long"],
                "cost": winner["cost"], "dropped": dropped, "not_measured": not_measured}
    return decision, _ranking(rows, order, dropped, main, failed, unmeasured or [])


def _points(x: float) -> str:
    return f"{abs(x) * 100:.1f}"


def _reasons(winner: dict, best: dict, runner: dict | None, rows: list[dict], main: str, priority: str, tol: float,
             significant: Any, req: Any) -> dict:
    short, long = [], []
    if winner["value"] >= best["value"] - 1e-9:
        best = winner
    if winner is best:
        tied = [r["model"] for r in rows if r is not winner and not r["ruled_out"]
                and abs(r["value"] - winner["value"]) <= 1e-9]
        if tied:
            short.append(f"the best {main} ({winner['value']:.3f}), tied with {', '.join(tied)}")
        elif runner is not None and significant(winner["model"], runner["model"]) and runner["value"] < winner["value"]:
            short.append(f"the best {main} ({winner['value']:.3f}), significantly above {runner['model']}")
        else:
            short.append(f"the best {main} ({winner['value']:.3f})")
        sampled = [r for r in rows if r is not winner and not r["ruled_out"] and r["basis"] != "full"
                   and r["value"] > winner["value"]]
        if sampled and winner["basis"] == "full":
            short[-1] = f"the best {main} measured on the whole set ({winner['value']:.3f})"
            long.append("; ".join(f"{r['model']} scored {r['value']:.3f} on {r['basis_text']}, not significantly "
                                  "better: measure it on the whole set (a larger --time-budget) before paying for it"
                                  for r in sampled))
    else:
        gap = best["value"] - winner["value"]
        tie = "not significantly worse" if not significant(best["model"], winner["model"]) else "significantly worse"
        short.append(f"within {_points(gap)} points of {main} of the best ({best['model']}, {tie})")
        long.append(f"with priority {priority}, {_points(tol)} points of {main} are not worth paying more for")
    others = [r for r in rows if r is not winner and not r["ruled_out"]]
    year = winner["cost"].get("first_year_usd")
    dearer = [r for r in others if (r["cost"].get("first_year_usd") or 0) > 0]
    if year and dearer:
        top = max(dearer, key=lambda r: r["cost"]["first_year_usd"])
        ratio = top["cost"]["first_year_usd"] / year
        if ratio >= 1.5:
            short.append(f"{ratio:.1f}x cheaper to run than {top['model']} "
                         f"(${year:,.0f} against ${top['cost']['first_year_usd']:,.0f} in the first year)")
        else:
            short.append(_tiebreak(winner, others))
    lat, p95 = getattr(getattr(req, "deployment", None), "latency_p95_ms", None), winner["latency_p95_ms"]
    if lat is not None and p95 is not None:
        short.append(f"fits the {lat:.0f} ms p95 budget ({p95:.1f} ms measured)")
    elif p95 is not None:
        long.append(f"p95 latency {p95:.1f} ms for one query on this machine")
    long.append(f"quality measured on {winner['basis_text']}")
    long.append(f"cost: {winner['cost'].get('basis')}")
    for r in rows:
        if r["ruled_out"]:
            long.append(f"{r['model']} ruled out: {'; '.join(r['ruled_out'])}")
    return {"short": short, "long": long}


def _tiebreak(winner: dict, others: list[dict]) -> str:
    """What sets the winner apart when the cost to run is about the same."""
    slower = [r for r in others if r["latency_p95_ms"] and winner["latency_p95_ms"]
              and r["latency_p95_ms"] >= 1.5 * winner["latency_p95_ms"]]
    if slower:
        r = max(slower, key=lambda r: r["latency_p95_ms"])
        return (f"about the same cost to run, {r['latency_p95_ms'] / winner['latency_p95_ms']:.1f}x lower p95 "
                f"latency than {r['model']} ({winner['latency_p95_ms']:.1f} against {r['latency_p95_ms']:.1f} ms)")
    bigger = [r for r in others if r["memory_mb"] and winner["memory_mb"] and r["memory_mb"] >= 1.5 * winner["memory_mb"]]
    if bigger:
        r = max(bigger, key=lambda r: r["memory_mb"])
        return f"about the same cost to run, {r['memory_mb'] / winner['memory_mb']:.1f}x less memory than {r['model']}"
    return "about the same cost and speed as the others"


def _runner_reason(runner: dict, winner: dict, main: str) -> str:
    gap = runner["value"] - winner["value"]
    better = f"{_points(gap)} points {'higher' if gap > 0 else 'lower'} {main}"
    w, r = winner["cost"].get("first_year_usd"), runner["cost"].get("first_year_usd")
    if w is not None and r is not None and w > 0:
        return f"{better}, ${r:,.0f} against ${w:,.0f} in the first year"
    return better


def _confidence(winner: dict, best: dict, runner: dict | None, contenders: list[dict], significant: Any,
                finalists: list[dict], req: Any) -> dict:
    why = []
    level = "high"
    if any(r["basis"] != "full" for r in contenders):
        level = "low"
        why.append("a close contender's quality was measured on a pooled sample, not on the whole set")
    run = next(f["run"] for f in finalists if f["run"].model == winner["model"])
    n = len(next(iter(run.per_query.values()), {})) if run.per_query else None
    if n is not None and n < 50:
        level = "low"
        why.append(f"only {n} queries")
    if runner is not None and winner is best and not significant(winner["model"], runner["model"]) and \
            runner in contenders and level == "high":
        level = "medium"
        why.append(f"{runner['model']} is statistically tied: the choice rests on cost")
    if level == "high":
        why.append("measured in full; the margin is significant or the cost gap decides")
    return {"level": level, "why": why}


def _ranking(rows: list[dict], order: list[dict], dropped: list[dict], main: str,
             failed: list[ModelRun], unmeasured: list[dict]) -> list[dict]:
    out = []
    for i, r in enumerate(order):
        out.append({"rank": i + 1, "model": r["model"], "status": "winner" if i == 0 else "finalist", main: r["value"],
                    "quality_basis": r["basis"], "latency_p95_ms": r["latency_p95_ms"], "memory_mb": r["memory_mb"],
                    "first_year_usd": r["cost"].get("first_year_usd"), "monthly_usd": r["cost"].get("monthly_usd")})
    if len(out) > 1:
        out[1]["status"] = "runner_up"
    for r in rows:
        if r["ruled_out"]:
            out.append({"rank": None, "model": r["model"], "status": "ruled_out", main: r["value"],
                        "quality_basis": r["basis"], "reasons": r["ruled_out"],
                        "latency_p95_ms": r["latency_p95_ms"], "memory_mb": r["memory_mb"],
                        "first_year_usd": r["cost"].get("first_year_usd")})
    for d in dropped:
        out.append({"rank": None, "model": d["model"], "status": "dropped", main: d["value"],
                    "quality_basis": "screening", "round": d["round"],
                    "reasons": [f"round {d['round']}: {d['diff'] * 100:.1f} points below {d['best']} "
                                f"(p={d['p_holm']:.3g} after Holm, {d['n']} paired)"]})
    out += [{"rank": None, "model": u["model"], "status": "not_measured", main: None, "quality_basis": None,
             "reasons": [u["reason"]]} for u in unmeasured]
    out += [{"rank": None, "model": r.model, "status": "failed", main: None, "quality_basis": None,
             "reasons": [r.error or "failed"]} for r in failed]
    return out

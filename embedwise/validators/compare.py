"""Paired significance tests between models on the same queries, pairs or experiments, and Holm's correction for
several comparisons at once."""
from __future__ import annotations

from typing import Sequence

from embedwise.validators.results import MAIN_METRIC, Comparison, ModelRun


def compare_runs(runs: list[ModelRun], task: str, gold: Sequence[float] | None = None) -> list[Comparison]:
    """Every pair among up to six models (the best against each other beyond that), best first."""
    ok = [r for r in runs if r.status == "ok"]
    main = MAIN_METRIC[task]
    ok.sort(key=lambda r: r.metrics.get(main, float("-inf")), reverse=True)
    if len(ok) < 2:
        return []
    pairs = [(a, b) for i, a in enumerate(ok) for b in ok[i + 1:]] if len(ok) <= 6 else [(ok[0], b) for b in ok[1:]]
    return [paired(a, b, task, gold) for a, b in pairs]


def paired(a: ModelRun, b: ModelRun, task: str, gold: Sequence[float] | None = None) -> Comparison:
    """The paired test of `a` against `b` on what both were measured on: per-query nDCG@10 (Wilcoxon signed-rank),
    STS pairs (paired bootstrap of Spearman), or per-experiment/run figures (paired t-test)."""
    from embedwise.validators import metrics as M

    if task == "retrieval":
        pa, pb = a.per_query.get("ndcg_at_10", {}), b.per_query.get("ndcg_at_10", {})
        keys = sorted(set(pa) & set(pb))
        res = M.paired_test([pa[k] for k in keys], [pb[k] for k in keys])
        test, metric, p = "wilcoxon signed-rank (per-query ndcg_at_10)", "ndcg_at_10", res["wilcoxon_p"]
    elif task == "sts" and gold is not None:
        res = M.bootstrap_spearman_test(gold, a.per_pair, b.per_pair)
        test, metric, p = "paired bootstrap (1000 resamples of pairs)", "cosine_spearman", res["bootstrap_p"]
    else:
        key = "accuracy" if task == "classification" else "v_measure"
        xa, xb = a.per_experiment.get(key, []), b.per_experiment.get(key, [])
        n = min(len(xa), len(xb))
        res = M.paired_test(xa[:n], xb[:n])
        unit = "experiment" if task == "classification" else "run"
        test, metric, p = f"paired t-test (per-{unit} {key})", key, res["ttest_p"]
        res["significant"] = bool(p < 0.05)
    return Comparison(a=a.model, b=b.model, metric=metric, test=test, n=res["n"], mean_a=res["mean_a"],
                      mean_b=res["mean_b"], diff=res["diff"], p_value=p, significant=bool(res["significant"]),
                      details={k: v for k, v in res.items() if k not in ("n", "mean_a", "mean_b", "diff")})


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm-Bonferroni adjusted p-values, in the order given (step-down, monotone, capped at 1)."""
    order = sorted(range(len(p_values)), key=lambda i: p_values[i])
    adjusted = [1.0] * len(p_values)
    running = 0.0
    m = len(p_values)
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p_values[i]))
        adjusted[i] = running
    return adjusted

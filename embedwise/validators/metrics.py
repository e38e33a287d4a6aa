"""Metrics computed as MTEB computes them, so a figure on the user's data can be set beside the leaderboard's.

- Retrieval (MTEB 1.12 `RetrievalEvaluator`): cosine similarity, top 1000 per query, `ndcg_cut`, `map_cut`, `recall`,
  `P` from pytrec-eval-terrier at k = 1, 3, 5, 10, 100, averaged over the evaluated queries; MRR@k as MTEB's custom
  metric (first relevant hit in the top k, divided by the number of judged queries).
- Classification (MTEB 1.12 `AbsTaskClassification`, logReg): 10 experiments; each shuffles the train indices with
  numpy's legacy generator seeded 42 (the evaluator reseeds before every next shuffle, so experiment i applies the
  seed-42 permutation i times), keeps the first `samples_per_label` per label, fits
  `LogisticRegression(max_iter=100, random_state=42)` and scores the test set; the figures are the mean over experiments.
  kNN (k=3, cosine and euclidean, the best of the two) on the same samples is reported as `knn_*`.
- STS: cosine similarity of the two embeddings against the gold score: Spearman and Pearson.
- Clustering: MiniBatchKMeans with as many clusters as labels (batch size 500), V-measure, mean over seeded runs.
"""
from __future__ import annotations

import warnings
from collections import defaultdict
from typing import Any, Sequence

import numpy as np

K_VALUES = (1, 3, 5, 10, 100)
TOP_K = 1000
PER_QUERY_METRICS = ("ndcg_at_10", "map_at_10", "recall_at_10", "recall_at_100", "mrr_at_10")


# --- retrieval ---------------------------------------------------------------------------------------------------------

def _normalise(x: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return x / norms


def dense_search(query_vecs: np.ndarray, doc_vecs: np.ndarray, query_ids: Sequence[str], doc_ids: Sequence[str],
                 top_k: int = TOP_K, chunk: int = 256) -> dict[str, dict[str, float]]:
    """Cosine top-k for every query: {query id: {doc id: score}}."""
    q = _normalise(np.asarray(query_vecs, dtype=np.float32))
    d = _normalise(np.asarray(doc_vecs, dtype=np.float32))
    k = min(top_k, d.shape[0])
    chunk = max(1, min(chunk, 64_000_000 // max(d.shape[0], 1)))  # keep each similarity block under ~256 MB
    results: dict[str, dict[str, float]] = {}
    for start in range(0, q.shape[0], chunk):
        sims = q[start:start + chunk] @ d.T
        if k < sims.shape[1]:
            top = np.argpartition(-sims, k - 1, axis=1)[:, :k]
        else:
            top = np.tile(np.arange(sims.shape[1]), (sims.shape[0], 1))
        for row in range(sims.shape[0]):
            idx = top[row]
            scores = sims[row, idx]
            order = np.argsort(-scores, kind="stable")
            results[query_ids[start + row]] = {doc_ids[int(idx[j])]: float(scores[j]) for j in order}
    return results


def mrr_at_k(qrels: dict[str, dict[str, int]], results: dict[str, dict[str, float]],
             k_values: Sequence[int] = K_VALUES) -> tuple[dict[str, float], dict[int, dict[str, float]]]:
    """MTEB's MRR@k: the reciprocal rank of the first relevant document in the top k; mean over judged queries."""
    per_query: dict[int, dict[str, float]] = {k: {} for k in k_values}
    kmax = max(k_values)
    for qid, doc_scores in results.items():
        if qid not in qrels:
            continue
        hits = sorted(doc_scores.items(), key=lambda item: item[1], reverse=True)[:kmax]
        relevant = {d for d, s in qrels[qid].items() if s > 0}
        for k in k_values:
            value = 0.0
            for rank, (doc_id, _) in enumerate(hits[:k]):
                if doc_id in relevant:
                    value = 1.0 / (rank + 1)
                    break
            per_query[k][qid] = value
    means = {f"mrr_at_{k}": (sum(per_query[k].values()) / len(qrels) if qrels else 0.0) for k in k_values}
    return means, per_query


def retrieval_metrics(qrels: dict[str, dict[str, int]], results: dict[str, dict[str, float]],
                      k_values: Sequence[int] = K_VALUES) -> tuple[dict[str, float], dict[str, dict[str, float]]]:
    """(mean metrics, per-query values of PER_QUERY_METRICS) with MTEB's names: ndcg_at_10, map_at_10, ..."""
    import pytrec_eval

    ks = ",".join(str(k) for k in k_values)
    measures = {f"map_cut.{ks}", f"ndcg_cut.{ks}", f"recall.{ks}", f"P.{ks}"}
    evaluator = pytrec_eval.RelevanceEvaluator(qrels, measures)
    run = {q: {d: float(s) for d, s in docs.items()} for q, docs in results.items()}
    scores = evaluator.evaluate(run)
    names = {"ndcg_cut": "ndcg_at", "map_cut": "map_at", "recall": "recall_at", "P": "precision_at"}
    metrics: dict[str, float] = {}
    per_query: dict[str, dict[str, float]] = {}
    n = len(scores)
    for trec, ours in names.items():
        for k in k_values:
            values = {qid: s[f"{trec}_{k}"] for qid, s in scores.items()}
            metrics[f"{ours}_{k}"] = sum(values.values()) / n if n else 0.0
            if f"{ours}_{k}" in PER_QUERY_METRICS:
                per_query[f"{ours}_{k}"] = values
    mrr, mrr_per_query = mrr_at_k(qrels, results, k_values)
    metrics.update(mrr)
    for k in k_values:
        if f"mrr_at_{k}" in PER_QUERY_METRICS:
            per_query[f"mrr_at_{k}"] = mrr_per_query[k]
    return metrics, per_query


# --- classification ---------------------------------------------------------------------------------------------------

def undersample_experiments(labels: Sequence[Any], n_experiments: int = 10, samples_per_label: int = 8,
                            seed: int = 42) -> list[list[int]]:
    """The train indices of each experiment, exactly as MTEB 1.12 draws them."""
    idxs = np.arange(len(labels))
    experiments = []
    for _ in range(n_experiments):
        np.random.RandomState(seed).shuffle(idxs)
        counter: dict[Any, int] = defaultdict(int)
        chosen = []
        for i in idxs:
            if counter[labels[i]] < samples_per_label:
                chosen.append(int(i))
                counter[labels[i]] += 1
        experiments.append(chosen)
    return experiments


def classification_metrics(train_vecs: Any, train_labels: Sequence[Any], test_vecs: Any, test_labels: Sequence[Any],
                           experiments: list[list[int]], seed: int = 42, max_iter: int = 100, k: int = 3,
                           knn: bool = True) -> tuple[dict[str, float], dict[str, list[float]]]:
    """Mean accuracy/F1 over the experiments (`train_vecs` rows are indexed by the experiments' train indices)."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import accuracy_score, f1_score
    from sklearn.neighbors import KNeighborsClassifier

    y_train_all = np.asarray(train_labels, dtype=object)
    y_test = np.asarray(test_labels, dtype=object)
    per: dict[str, list[float]] = defaultdict(list)
    correct = np.zeros(len(y_test))
    binary = len(set(train_labels)) == 2
    for chosen in experiments:
        X = train_vecs[chosen]
        y = y_train_all[chosen].astype(str)
        clf = LogisticRegression(random_state=seed, max_iter=max_iter)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            clf.fit(X, y)
        pred = clf.predict(test_vecs)
        yt = y_test.astype(str)
        correct = correct + (pred == yt) if len(per["accuracy"]) else (pred == yt).astype(float)
        per["accuracy"].append(accuracy_score(yt, pred))
        per["f1"].append(f1_score(yt, pred, average="macro"))
        per["f1_weighted"].append(f1_score(yt, pred, average="weighted"))
        if binary:
            from sklearn.metrics import average_precision_score

            positive = sorted(set(yt))[-1]
            per["ap"].append(average_precision_score(yt == positive, pred == positive))
        if knn:
            best_acc, best_f1 = 0.0, 0.0
            for metric in ("cosine", "euclidean"):
                model = KNeighborsClassifier(n_neighbors=min(k, X.shape[0]), metric=metric)
                model.fit(X, y)
                p = model.predict(test_vecs)
                acc, f1 = accuracy_score(yt, p), f1_score(yt, p, average="macro")
                per[f"knn_accuracy_{metric}"].append(acc)
                per[f"knn_f1_{metric}"].append(f1)
                best_acc, best_f1 = max(best_acc, acc), max(best_f1, f1)
            per["knn_accuracy"].append(best_acc)
            per["knn_f1"].append(best_f1)
    means = {name: float(np.mean(values)) for name, values in per.items()}
    means["accuracy_std"] = float(np.std(per["accuracy"]))
    if experiments:  # per test item: the share of experiments that got it right (for paired tests over items)
        per["item_accuracy"] = [float(x) for x in correct / len(experiments)]
    return means, dict(per)


# --- STS ---------------------------------------------------------------------------------------------------------------

def _paired_cosine(a: Any, b: Any) -> np.ndarray:
    from sklearn.metrics.pairwise import paired_cosine_distances

    return 1.0 - paired_cosine_distances(a, b)


def sts_metrics(vecs1: Any, vecs2: Any, gold: Sequence[float]) -> tuple[dict[str, float], np.ndarray]:
    from scipy.stats import pearsonr, spearmanr
    from sklearn.metrics.pairwise import (
        paired_euclidean_distances,
        paired_manhattan_distances,
    )

    gold = np.asarray(gold, dtype=float)
    cos = _paired_cosine(vecs1, vecs2)
    euc = -paired_euclidean_distances(vecs1, vecs2)
    man = -paired_manhattan_distances(vecs1, vecs2)
    metrics = {
        "cosine_spearman": float(spearmanr(gold, cos).statistic),
        "cosine_pearson": float(pearsonr(gold, cos).statistic),
        "euclidean_spearman": float(spearmanr(gold, euc).statistic),
        "manhattan_spearman": float(spearmanr(gold, man).statistic),
    }
    metrics = {k: (0.0 if v != v else v) for k, v in metrics.items()}  # constant predictions give NaN
    return metrics, cos


# --- clustering --------------------------------------------------------------------------------------------------------

def clustering_metrics(vecs: Any, labels: Sequence[Any], n_runs: int = 10, seed: int = 42,
                       batch_size: int = 500) -> tuple[dict[str, float], list[float]]:
    from sklearn.cluster import MiniBatchKMeans
    from sklearn.metrics import v_measure_score

    n_clusters = len(set(labels))
    scores = []
    for run in range(n_runs):
        model = MiniBatchKMeans(n_clusters=n_clusters, batch_size=batch_size, n_init="auto", random_state=seed + run)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            assigned = model.fit_predict(vecs)
        scores.append(float(v_measure_score(list(labels), assigned)))
    return {"v_measure": float(np.mean(scores)), "v_measure_std": float(np.std(scores))}, scores


# --- significance ------------------------------------------------------------------------------------------------------

def paired_test(a: Sequence[float], b: Sequence[float], alpha: float = 0.05) -> dict[str, Any]:
    """Wilcoxon signed-rank and paired t-test on paired observations (per query, per experiment...)."""
    from scipy.stats import ttest_rel, wilcoxon

    x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    out: dict[str, Any] = {"n": int(len(x)), "mean_a": float(x.mean()) if len(x) else 0.0,
                           "mean_b": float(y.mean()) if len(y) else 0.0}
    out["diff"] = out["mean_a"] - out["mean_b"]
    diff = x - y
    if len(x) < 2 or np.allclose(diff, 0):
        out.update({"wilcoxon_p": 1.0, "ttest_p": 1.0, "significant": False})
        return out
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            w = float(wilcoxon(x, y, zero_method="wilcox").pvalue)
        except ValueError:
            w = 1.0
        t = float(ttest_rel(x, y).pvalue)
    w = 1.0 if w != w else w
    t = 1.0 if t != t else t
    out.update({"wilcoxon_p": w, "ttest_p": t, "significant": bool(w < alpha if len(x) >= 10 else t < alpha)})
    return out


def bootstrap_spearman_test(gold: Sequence[float], pred_a: Sequence[float], pred_b: Sequence[float],
                            n_boot: int = 1000, seed: int = 42, alpha: float = 0.05) -> dict[str, Any]:
    """Paired bootstrap of the difference of two Spearman correlations against the same gold scores."""
    from scipy.stats import rankdata

    g, a, b = (np.asarray(v, dtype=float) for v in (gold, pred_a, pred_b))
    rng = np.random.RandomState(seed)
    n = len(g)

    def rho(x: np.ndarray, y: np.ndarray) -> float:
        rx, ry = rankdata(x), rankdata(y)
        c = np.corrcoef(rx, ry)[0, 1]
        return 0.0 if c != c else float(c)

    observed = rho(g, a) - rho(g, b)
    diffs = np.empty(n_boot)
    for i in range(n_boot):
        idx = rng.randint(0, n, n)
        diffs[i] = rho(g[idx], a[idx]) - rho(g[idx], b[idx])
    p = float(min(1.0, 2 * min((diffs <= 0).mean(), (diffs >= 0).mean())))
    return {"n": n, "mean_a": rho(g, a), "mean_b": rho(g, b), "diff": observed, "bootstrap_p": p,
            "ci95": [float(np.percentile(diffs, 2.5)), float(np.percentile(diffs, 97.5))], "significant": p < alpha}

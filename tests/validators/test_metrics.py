"""Metrics: hand-computed retrieval figures, MTEB's classification sampling, STS, clustering, significance tests."""
from __future__ import annotations

import math

import numpy as np
import pytest

from embedwise.validators import metrics as M


def test_metric_names_are_mtebs():
    qrels = {"q1": {"d1": 1}, "q2": {"d3": 1}}
    results = {"q1": {"d1": 0.9, "d2": 0.5}, "q2": {"d1": 0.8, "d2": 0.7, "d3": 0.6}}
    metrics, per_query = M.retrieval_metrics(qrels, results)
    for fam in ("ndcg", "map", "recall", "precision", "mrr"):
        for k in (1, 3, 5, 10, 100):
            assert f"{fam}_at_{k}" in metrics
    assert set(per_query["ndcg_at_10"]) == {"q1", "q2"}


def test_retrieval_values_by_hand():
    qrels = {"q1": {"d1": 1}, "q2": {"d3": 1}}
    results = {"q1": {"d1": 0.9, "d2": 0.5}, "q2": {"d1": 0.8, "d2": 0.7, "d3": 0.6}}
    m, pq = M.retrieval_metrics(qrels, results)
    # q1: relevant at rank 1; q2: relevant at rank 3
    assert pq["ndcg_at_10"]["q1"] == pytest.approx(1.0)
    assert pq["ndcg_at_10"]["q2"] == pytest.approx(1 / math.log2(4))
    assert m["ndcg_at_10"] == pytest.approx((1 + 0.5) / 2)
    assert m["mrr_at_10"] == pytest.approx((1 + 1 / 3) / 2)
    assert m["mrr_at_1"] == pytest.approx(0.5)
    assert m["recall_at_1"] == pytest.approx(0.5) and m["recall_at_3"] == pytest.approx(1.0)
    assert m["precision_at_1"] == pytest.approx(0.5)
    assert m["map_at_10"] == pytest.approx((1 + 1 / 3) / 2)


def test_dense_search_is_cosine_top_k():
    docs = np.array([[1, 0], [0, 1], [1, 1], [-1, 0]], dtype=np.float32)
    queries = np.array([[10, 1]], dtype=np.float32)  # length must not matter: cosine
    res = M.dense_search(queries, docs, ["q"], ["a", "b", "c", "d"], top_k=2)
    assert list(res["q"]) == ["a", "c"]
    assert res["q"]["a"] == pytest.approx(10 / math.sqrt(101), rel=1e-5)
    full = M.dense_search(queries, docs, ["q"], ["a", "b", "c", "d"], top_k=1000)
    assert len(full["q"]) == 4 and list(full["q"])[-1] == "d"


def test_undersampling_reproduces_mteb():
    """MTEB 1.12: np.random.seed(42) then shuffle; every evaluator reseeds 42 before the next shuffle of the same
    index array. Reproduce that with numpy's global generator and compare."""
    labels = [i % 5 for i in range(60)]
    ours = M.undersample_experiments(labels, n_experiments=4, samples_per_label=3, seed=42)
    np.random.seed(42)
    idxs = None
    theirs = []
    for _ in range(4):
        if idxs is None:
            idxs = np.arange(len(labels))
        np.random.shuffle(idxs)
        counter: dict = {}
        chosen = []
        for i in idxs:
            if counter.get(labels[i], 0) < 3:
                chosen.append(int(i))
                counter[labels[i]] = counter.get(labels[i], 0) + 1
        theirs.append(chosen)
        np.random.seed(42)  # the next evaluator's __init__
    assert ours == theirs
    assert all(len(e) == 15 for e in ours) and ours[0] != ours[1]


def test_classification_on_separable_vectors():
    rng = np.random.RandomState(0)
    centers = np.eye(3) * 5
    y_train = [i % 3 for i in range(60)]
    X_train = np.array([centers[y] + rng.randn(3) * 0.1 for y in y_train])
    y_test = [i % 3 for i in range(30)]
    X_test = np.array([centers[y] + rng.randn(3) * 0.1 for y in y_test])
    exps = M.undersample_experiments(y_train, 3, 4)
    means, per = M.classification_metrics(X_train, y_train, X_test, y_test, exps)
    assert means["accuracy"] == 1.0 and means["f1"] == 1.0 and means["knn_accuracy"] == 1.0
    assert len(per["accuracy"]) == 3


def test_sts_metrics():
    a = np.array([[1, 0], [1, 0], [1, 0], [1, 0]], dtype=float)
    b = np.array([[1, 0], [1, 1], [0, 1], [-1, 0.1]], dtype=float)
    gold = [5, 4, 2, 0]
    metrics, cos = M.sts_metrics(a, b, gold)
    assert metrics["cosine_spearman"] == pytest.approx(1.0)
    assert 0.9 < metrics["cosine_pearson"] <= 1.0
    assert cos[0] == pytest.approx(1.0)


def test_clustering_v_measure():
    rng = np.random.RandomState(0)
    labels = [i % 3 for i in range(90)]
    X = np.array([np.eye(3)[y] * 10 + rng.randn(3) * 0.1 for y in labels])
    metrics, runs = M.clustering_metrics(X, labels, n_runs=3)
    assert metrics["v_measure"] == pytest.approx(1.0) and len(runs) == 3


def test_paired_test():
    a = [0.9, 0.8, 0.85, 0.95, 0.9, 0.88, 0.92, 0.81, 0.86, 0.9, 0.93, 0.87]
    b = [x - 0.3 for x in a]
    res = M.paired_test(a, b)
    assert res["significant"] and res["wilcoxon_p"] < 0.01 and res["diff"] == pytest.approx(0.3)
    same = M.paired_test(a, a)
    assert not same["significant"] and same["wilcoxon_p"] == 1.0


def test_bootstrap_spearman():
    rng = np.random.RandomState(1)
    gold = rng.rand(200)
    good = gold + rng.randn(200) * 0.05
    bad = rng.rand(200)
    res = M.bootstrap_spearman_test(gold, good, bad, n_boot=200)
    assert res["significant"] and res["diff"] > 0.5

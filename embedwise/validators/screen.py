"""Screening by successive halving: every candidate is measured on a sample, the ones significantly worse than the
best are dropped, and the sample grows for the rest.

Retrieval samples queries and scores them against a pooled corpus, the way MMTEB down-samples large retrieval corpora:
every document judged for a sampled query, the top `depth` of each pooling model (BM25 and the cheapest dense
candidate, both measured on the whole corpus) for each sampled query, and a random sample of the corpus. A pooling
model's top documents are all in the pool, so its figure on the pool is its figure on the whole corpus; any other
model would look better on the pool than on the whole corpus (the documents left out are unjudged distractors), so
its nDCG@10 is estimated for the whole corpus from the random sample (`Sampler.estimate_whole_corpus`). Classification, STS and
clustering sample test items, pairs or texts. Samples are prefixes of one seeded order, so each round's sample holds
the previous one and the embedding cache turns a round into the new texts only.

A candidate is dropped when the paired test against the round's best (per query, pair or experiment) is significant
after Holm's correction over the round's comparisons, and it scores lower.
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field

from embedwise.validators.compare import holm, paired
from embedwise.validators.data import ClassificationSet, ClusteringSet, Dataset, RetrievalSet, STSSet
from embedwise.validators.results import MAIN_METRIC, Comparison, ModelRun

POOL_DEPTH = 10
RANDOM_DOCS_PER_QUERY = 2
MIN_RANDOM_DOCS = 100
ALPHA = 0.05


@dataclass
class Sampler:
    """Seeded orders over a data set's items, and the sub-set of a given size."""

    ds: Dataset
    seed: int = 42
    rankings: dict[str, dict[str, dict[str, float]]] = field(default_factory=dict)  # pooling model -> its results
    _orders: dict[str, list] = field(default_factory=dict)

    def _order(self, name: str, items: list) -> list:
        if name not in self._orders:
            order = list(items)
            random.Random(f"{self.seed}:{name}").shuffle(order)
            self._orders[name] = order
        return self._orders[name]

    def size(self) -> int:
        """How many items the whole set has (queries, test items, pairs, texts)."""
        ds = self.ds
        if isinstance(ds, RetrievalSet):
            return len(ds.queries)
        if isinstance(ds, ClassificationSet):
            return len(ds.test_texts)
        if isinstance(ds, STSSet):
            return len(ds.scores)
        return len(ds.texts)

    def subset(self, n: int) -> Dataset:
        ds = self.ds
        if n >= self.size():
            return ds
        if isinstance(ds, RetrievalSet):
            queries = self._order("queries", sorted(ds.queries))[:n]
            docs = self.pool(queries)
            corpus = {d: ds.corpus[d] for d in docs}
            qrels = {q: {d: s for d, s in ds.qrels[q].items() if d in corpus} for q in queries}
            return RetrievalSet(corpus=corpus, queries={q: ds.queries[q] for q in queries}, qrels=qrels,
                                name=ds.name, source=ds.source, synthetic=ds.synthetic, notes=list(ds.notes))
        if isinstance(ds, ClassificationSet):
            idx = sorted(self._order("test", list(range(len(ds.test_texts))))[:n])
            return ClassificationSet(ds.train_texts, ds.train_labels, [ds.test_texts[i] for i in idx],
                                     [ds.test_labels[i] for i in idx], ds.name, ds.source, ds.synthetic,
                                     list(ds.notes))
        if isinstance(ds, STSSet):
            idx = sorted(self._order("pairs", list(range(len(ds.scores))))[:n])
            return STSSet([ds.sentences1[i] for i in idx], [ds.sentences2[i] for i in idx],
                          [ds.scores[i] for i in idx], ds.name, ds.source, ds.synthetic, list(ds.notes))
        idx = sorted(self._order("texts", list(range(len(ds.texts))))[:n])
        return ClusteringSet([ds.texts[i] for i in idx], [ds.labels[i] for i in idx], ds.name, ds.source,
                             ds.synthetic, list(ds.notes))

    def pool(self, queries: list[str]) -> list[str]:
        """The pooled corpus for these queries, in corpus order."""
        core, sample = self.pool_parts(queries)
        keep = core | sample
        return [d for d in self.ds.corpus if d in keep]  # type: ignore[union-attr]

    def pool_parts(self, queries: list[str]) -> tuple[set[str], set[str]]:
        """(the core: judged documents and the pooling models' top documents; the random sample of the corpus)."""
        ds = self.ds
        assert isinstance(ds, RetrievalSet)
        core: set[str] = set()
        for q in queries:
            core.update(d for d in ds.qrels.get(q, {}) if d in ds.corpus)
            for results in self.rankings.values():
                top = sorted(results.get(q, {}).items(), key=lambda kv: -kv[1])[:POOL_DEPTH]
                core.update(d for d, _ in top)
        extra = max(RANDOM_DOCS_PER_QUERY * len(queries), MIN_RANDOM_DOCS)
        return core, set(self._order("corpus", list(ds.corpus))[:extra])

    def estimate_whole_corpus(self, sub: RetrievalSet, results: dict[str, dict[str, float]]) -> dict[str, float]:
        """Per-query nDCG@10 on the whole corpus, estimated from a model's scores on the pool.

        The documents outside the core are unjudged; how many of them outrank a relevant document is estimated from
        the random sample (those of its documents outside the core that score higher, scaled to all the documents
        outside the core), so a model that never had its own top documents pooled is not flattered by the missing
        distractors. The relevant documents' estimated ranks give DCG@10 with trec_eval's linear gains.
        """
        import math

        core, sample = self.pool_parts(list(sub.queries))
        outside = [d for d in sample if d not in core]
        scale = (len(self.ds.corpus) - len(core)) / max(len(outside), 1)  # type: ignore[union-attr]
        out: dict[str, float] = {}
        for q in sub.queries:
            scores = results.get(q, {})
            gains = {d: g for d, g in sub.qrels.get(q, {}).items() if g > 0}
            ideal = sum(g / math.log2(i + 2) for i, g in enumerate(sorted(gains.values(), reverse=True)[:10]))
            dcg = 0.0
            for d, g in gains.items():
                if d not in scores:
                    continue
                above_core = sum(1 for x, v in scores.items() if x in core and x != d and v > scores[d])
                above_out = sum(1 for x in outside if scores.get(x, float("-inf")) > scores[d])
                rank = 1 + above_core + above_out * scale
                if rank <= 10:
                    dcg += g / math.log2(rank + 1)
            out[q] = dcg / ideal if ideal else 0.0
        return out

    def describe(self, sub: Dataset) -> dict:
        if isinstance(sub, RetrievalSet):
            return {"queries": len(sub.queries), "documents": len(sub.corpus),
                    "of_queries": len(self.ds.queries), "of_documents": len(self.ds.corpus),  # type: ignore[union-attr]
                    "pooled_by": sorted(self.rankings)}
        return {"items": self._len(sub), "of_items": self.size()}

    @staticmethod
    def _len(ds: Dataset) -> int:
        if isinstance(ds, ClassificationSet):
            return len(ds.test_texts)
        if isinstance(ds, STSSet):
            return len(ds.scores)
        return len(ds.texts)  # type: ignore[union-attr]


def restrict(run: ModelRun, sub: Dataset) -> ModelRun:
    """A run measured on the whole set, seen on a sample of its queries (a pooling model: its pooled figure is its
    whole-corpus figure); other tasks are measured on the sample itself."""
    if not isinstance(sub, RetrievalSet):
        return run
    keep = set(sub.queries)
    per_query = {m: {q: v for q, v in values.items() if q in keep} for m, values in run.per_query.items()}
    n = max(len(keep), 1)
    metrics = {m: sum(values.values()) / n for m, values in per_query.items()}
    return run.model_copy(update={"per_query": per_query, "metrics": metrics})


def drop_worse(runs: list[ModelRun], task: str, gold: list[float] | None = None) -> tuple[str, list[dict]]:
    """(the round's best, the verdict on each other candidate): dropped when significantly worse after Holm."""
    main = MAIN_METRIC[task]
    ok = sorted((r for r in runs if r.status == "ok"), key=lambda r: -r.metrics.get(main, float("-inf")))
    if not ok:
        return "", []
    best, others = ok[0], ok[1:]
    tests = [_per_item(best, r) if task == "classification" else paired(best, r, task, gold) for r in others]
    adjusted = holm([t.p_value for t in tests])
    verdicts = []
    for r, t, p_adj in zip(others, tests, adjusted):
        worse = t.diff > 0
        verdicts.append({"model": r.model, "value": round(r.metrics.get(main, 0.0), 5),
                         "best": best.model, "best_value": round(best.metrics.get(main, 0.0), 5),
                         "diff": round(t.diff, 5), "test": t.test, "n": t.n, "p_value": round(t.p_value, 6),
                         "p_holm": round(p_adj, 6), "dropped": bool(worse and p_adj < ALPHA)})
    return best.model, verdicts


def _per_item(a: ModelRun, b: ModelRun) -> Comparison:
    """Classification screened per test item (the share of experiments that got it right), not per experiment: a
    handful of experiments has little power, hundreds of items have much more."""
    from embedwise.validators import metrics as M

    pa, pb = a.per_query.get("accuracy", {}), b.per_query.get("accuracy", {})
    keys = sorted(set(pa) & set(pb))
    res = M.paired_test([pa[k] for k in keys], [pb[k] for k in keys])
    return Comparison(a=a.model, b=b.model, metric="accuracy", test="wilcoxon signed-rank (per test item accuracy)",
                      n=res["n"], mean_a=res["mean_a"], mean_b=res["mean_b"], diff=res["diff"],
                      p_value=res["wilcoxon_p"], significant=bool(res["significant"]))

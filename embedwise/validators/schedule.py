"""The work of `choose` under a time budget: probe each model's speed, screen in rounds, measure the finalists.

Every estimate is measured: a model's seconds per character of uncached text (probed on a few texts, then updated
from each round), its load time, and what the embedding cache already holds (cached texts cost nothing).
"""
from __future__ import annotations

import time
from typing import Any, Callable

from embedwise.validators import screen as S
from embedwise.validators.data import ClassificationSet, Dataset, RetrievalSet, STSSet
from embedwise.validators.load import SpeedConfig
from embedwise.validators.measure import Context, run_model
from embedwise.validators.results import MAIN_METRIC, ModelRun

Progress = Callable[[str, int, int], None]

from embedwise.validators.budget import (
    MAX_FINALISTS,
    POOLING_SHARE,
    PROBE_TEXTS,
    SCREEN_SHARE,
    Candidate,
    Clock,
)


class Worker:
    def __init__(self, ds: Dataset, ctx: Context, clock: Clock, options: dict, progress: Progress):
        self.ds, self.ctx, self.clock, self.options, self.progress = ds, ctx, clock, options, progress
        self.sampler = S.Sampler(ds, ctx.seed)
        self.main = MAIN_METRIC[ds.task]
        self.keys: dict[str, dict[str, str]] = {}  # dense text models: ref -> role -> cache key
        self.speed_keys: dict[str, str] = {}  # every model: ref -> the key its load test is stored under
        self.pool_note: str | None = None
        self.budget_stops: list[str] = []
        self.unmeasured: list[dict] = []  # candidates neither dropped nor finalists, with the reason
        self.media = getattr(ds, "modality", "text") != "text"  # measured whole: no text to sample or time
        self.replay: dict | None = None  # the plan of an earlier run on the same data and candidates
        self.plan: dict = {"pooled": None, "rounds": [], "finals": {}}  # this run's plan, stored for a re-run

    # --- measuring ----------------------------------------------------------------------------------------------------

    def run(self, c: Candidate, sub: Dataset, **kwargs: Any) -> ModelRun:
        kwargs.setdefault("measure_speed", False)
        kwargs.setdefault("measure_robustness", False)
        o = self.options
        t0 = time.perf_counter()
        run = run_model(c.ref, sub, ctx=self.ctx, db=o["db"], device=o["device"],
                        trust_remote_code=o["trust_remote_code"], batch_size=o["batch_size"],
                        queries_per_month=o["queries_per_month"], **kwargs)
        c.name = run.model
        if run.status == "ok" and isinstance(sub, RetrievalSet) and sub is not self.ds:
            self._estimate_whole_corpus(run, sub)
        encoded = (run.cache or {}).get("misses", 0)
        if run.status == "ok" and encoded and c.kind == "dense" and not kwargs.get("measure_speed") and not self.media:
            chars = self._uncached_chars_estimate(c, encoded, sub)
            spent = time.perf_counter() - t0 - (run.info.get("load_seconds") or 0)
            if chars and spent > 0:
                c.seconds_per_char = spent / chars
        return run

    def _estimate_whole_corpus(self, run: ModelRun, sub: RetrievalSet) -> None:
        """A non-pooling model's pooled nDCG@10 is an upper bound: its figures become the whole-corpus estimate
        (`screen.Sampler.estimate_whole_corpus`), the pooled one kept as `ndcg_at_10_pool`."""
        results = (self.ctx.rankings or {}).get(run.model)
        if results is None:
            return
        per_query = self.sampler.estimate_whole_corpus(sub, results)
        run.metrics["ndcg_at_10_pool"] = run.metrics.get("ndcg_at_10", 0.0)
        run.metrics["ndcg_at_10"] = sum(per_query.values()) / max(len(per_query), 1)
        run.per_query["ndcg_at_10"] = per_query
        run.info["quality_estimate"] = ("ndcg_at_10 estimated for the whole corpus from the pool and its random "
                                        "sample; the other metrics are the pool's (upper bounds)")

    def _uncached_chars_estimate(self, c: Candidate, encoded: int, sub: Dataset) -> float:
        texts = [t for _, ts in self.texts(sub) for t in ts]
        mean = sum(map(len, texts)) / max(len(texts), 1)
        return encoded * mean

    def texts(self, sub: Dataset) -> list[tuple[str, list[str]]]:
        """(role, texts) that a quality run on `sub` embeds."""
        if isinstance(sub, RetrievalSet):
            return [("document", [sub.doc_text(d) for d in sub.corpus]), ("query", list(sub.queries.values()))]
        if isinstance(sub, ClassificationSet):
            from embedwise.validators.metrics import undersample_experiments

            exps = undersample_experiments(sub.train_labels, self.ctx.n_experiments, self.ctx.samples_per_label,
                                           self.ctx.seed)
            needed = sorted({i for e in exps for i in e})
            return [("symmetric", [sub.train_texts[i] for i in needed] + sub.test_texts)]
        if isinstance(sub, STSSet):
            return [("symmetric", sub.sentences1 + sub.sentences2)]
        return [("symmetric", list(sub.texts))]  # type: ignore[union-attr]

    def cost(self, c: Candidate, sub: Dataset) -> float:
        """Seconds to measure `c` on `sub`: its uncached texts at its measured speed, plus a load when any."""
        if c.full is not None or c.kind != "dense":
            return 0.0
        cache = self.ctx.cache
        chars = 0
        for role, texts in self.texts(sub):
            key = self.keys.get(c.ref, {}).get(role)
            missing = range(len(texts)) if cache is None or key is None else cache.missing(key, texts)
            chars += sum(len(texts[i]) for i in missing)
        if not chars:
            return 0.0
        return chars * (c.seconds_per_char or 0.0) + c.load_s

    def identify(self, c: Candidate) -> Any:
        """The candidate's encoder (not loaded): its kind, name and cache keys. None when it cannot be made."""
        from embedwise.validators.encoders import make_encoder

        o = self.options
        try:
            enc = make_encoder(c.ref, db=o["db"], device=o["device"], trust_remote_code=o["trust_remote_code"],
                               batch_size=o["batch_size"])
        except Exception:  # noqa: BLE001 - the model's run reports the error
            c.kind = "unknown"
            return None
        c.kind, c.name = enc.kind, enc.name
        self.speed_keys[c.ref] = enc.cache_key("document")  # BM25's load test is reused too
        if enc.kind == "dense" and not self.media:
            roles = {role for role, _ in self.texts(self.ds)}
            self.keys[c.ref] = {role: enc.cache_key(role) for role in roles | {"query", "document"}}
        return enc

    def time_encoding(self, c: Candidate, enc: Any) -> None:
        """Load the model once and time it on a few uncached texts of the data (they stay in the cache)."""
        role, pool = self.texts(self.ds)[0]
        order = self.sampler._order("probe", list(range(len(pool))))[:400]
        sample = [pool[i] for i in order]
        cache = self.ctx.cache
        missing = cache.missing(self.keys[c.ref][role], sample) if cache is not None else list(range(len(sample)))
        texts = [sample[i] for i in missing[:PROBE_TEXTS]]
        if not texts:
            c.seconds_per_char = 0.0
            return
        try:
            enc.load()
            t0 = time.perf_counter()
            enc.embed(texts, role, cache)
            c.seconds_per_char = (time.perf_counter() - t0) / max(sum(map(len, texts)), 1)
            c.load_s = enc.load_seconds or 0.0
        except Exception:  # noqa: BLE001 - the model's run reports the error
            c.kind = "failed"

    def stop(self, note: str) -> None:
        """Something the budget (or the data) left out: said once in the decision's `not_measured`."""
        if note not in self.budget_stops:
            self.budget_stops.append(note)

    # --- the plan, stored for a re-run ----------------------------------------------------------------------------------

    def plan_key(self, candidates: list[Candidate], budget: float | None) -> str:
        import hashlib
        import json

        who = [[c.ref, self.keys.get(c.ref, {}).get("document")] for c in candidates]
        what = json.dumps(["plan", self.ds.name, self.ds.summary(), who, budget, self.ctx.seed], default=str)
        return hashlib.sha256(what.encode()).hexdigest()

    def load_plan(self, key: str) -> None:
        """A re-run on the same data, candidates and budget takes the same steps: the rounds, the pool and the
        finalists' bases come from the first run, so everything is read from the cache and no model is loaded."""
        stored = self.ctx.cache.get_measurement(key) if self.ctx.cache is not None else None
        if stored is not None:
            self.replay = stored[0]
            for note in self.replay.get("stops", []):
                self.stop(note)
            self.pool_note = self.replay.get("pool_note")

    def save_plan(self, key: str) -> None:
        if self.ctx.cache is not None and self.replay is None:
            self.ctx.cache.put_measurement(key, {**self.plan, "stops": self.budget_stops, "pool_note": self.pool_note})

    # --- screening ----------------------------------------------------------------------------------------------------

    def screen(self, candidates: list[Candidate], screening: list[dict], dropped: list[dict]) -> list[tuple]:
        """Successive halving; returns the finalists as (candidate, the data set to measure it on, basis)."""
        self.progress("screening", 0, 1)
        for c in candidates:
            if self.replay is None and c.ref in self.keys:  # a dense text model (see `identify`): time it
                enc = self.identify(c)
                try:
                    self.time_encoding(c, enc)
                finally:
                    enc.close()
        alive = []
        for c in candidates:
            if c.kind in ("sparse", "api"):  # BM25 costs seconds; an API is billed per call: both measured whole
                c.full = c.last = self.run(c, self.ds)
                self._keep_ranking(c)
            elif c.kind in ("unknown", "failed"):
                c.last = self.run(c, self.ds)  # reports the error
            if c.last is None or c.last.status == "ok":
                alive.append(c)
        self._pool_with_cheapest(alive)
        n_all = self.sampler.size()
        n = min(n_all, max(20, n_all // 8))
        previous = 0
        round_no = 0
        planned = list(self.replay["rounds"]) if self.replay is not None else None
        while len(alive) > 1 and previous < n_all and (planned is None or planned):
            n = planned.pop(0) if planned is not None else self._fit(alive, previous, n)
            if n is None:
                self.stop(f"screening stopped after round {round_no}: the next round did not fit "
                                         "the time budget")
                break
            round_no += 1
            self.plan["rounds"].append(n)
            t0 = time.perf_counter()
            sub = self.sampler.subset(n)
            runs = []
            for i, c in enumerate(alive):
                self.progress(f"screening round {round_no}", i, len(alive))
                whole = c.full is not None and isinstance(sub, RetrievalSet)  # a pooling model: its figure is exact
                c.last = S.restrict(c.full, sub) if whole else self.run(c, sub)
                runs.append(c.last)
            failed = [c for c in alive if c.last.status != "ok"]
            alive = [c for c in alive if c.last.status == "ok"]
            gold = sub.scores if isinstance(sub, STSSet) else None
            best, verdicts = S.drop_worse([c.last for c in alive], self.ds.task, gold)
            for v in verdicts:
                v["round"] = round_no
            out = {v["model"] for v in verdicts if v["dropped"]}
            dropped += [v for v in verdicts if v["dropped"]]
            screening.append({"round": round_no, **self.sampler.describe(sub), "candidates": [c.name for c in alive],
                              "best": best, "comparisons": verdicts, "failed": [c.name for c in failed],
                              "dropped": sorted(out), "seconds": round(time.perf_counter() - t0, 2),
                              "values": {r.model: round(r.metrics.get(self.main, 0.0), 5) for r in runs
                                         if r.status == "ok"}})
            alive = [c for c in alive if c.name not in out]
            self.sub = sub
            previous, n = n, min(n_all, n * 2)
        self.progress("screening", 1, 1)
        # the finalists: those with evidence first, best first; a model the budget never let measure is said, not hidden
        alive.sort(key=lambda c: (c.last is None, -(c.last.metrics.get(self.main, 0.0) if c.last else 0.0)))
        for c in alive[MAX_FINALISTS:]:
            cost = f" (~{self.cost(c, self.sampler.subset(10)):.0f} s for 10 queries or items)" \
                if c.seconds_per_char else ""
            why = (f"too slow to measure within the budget{cost}" if c.last is None else
                   f"survived the screening, but only the best {MAX_FINALISTS} were measured in full")
            self.unmeasured.append({"model": c.name or c.ref, "reason": why})
            self.stop(f"{c.name or c.ref}: {why}")
        return [(c, self.ds, "full") for c in alive[:MAX_FINALISTS]]

    def _keep_ranking(self, c: Candidate) -> None:
        if isinstance(self.ds, RetrievalSet) and c.full is not None and c.full.status == "ok":
            ranking = (self.ctx.rankings or {}).get(c.full.model)
            if ranking is not None:
                self.sampler.rankings[c.full.model] = ranking

    def _pool_with_cheapest(self, alive: list[Candidate]) -> None:
        """The cheapest dense model measured on the whole set pools documents for every sampled query."""
        if not isinstance(self.ds, RetrievalSet):
            return
        dense = [c for c in alive if c.kind == "dense" and (self.replay is not None or c.seconds_per_char is not None)]
        if not dense:
            return
        if self.replay is not None:
            cheapest = next((c for c in dense if c.ref == self.replay["pooled"]), None)
            needed = 0.0 if cheapest is not None else float("inf")
            cheapest = cheapest or dense[0]
        else:
            cheapest = min(dense, key=lambda c: self.cost(c, self.ds))
            needed = self.cost(cheapest, self.ds)
        if needed <= POOLING_SHARE * self.clock.remaining():
            self.plan["pooled"] = cheapest.ref
            cheapest.full = cheapest.last = self.run(cheapest, self.ds)
            self._keep_ranking(cheapest)
        else:
            self.pool_note = (f"the pool was made from BM25 alone: embedding the whole corpus with the cheapest "
                              f"dense model ({cheapest.name or cheapest.ref}, ~{needed:.0f} s) did not fit the budget")

    def _fit(self, alive: list[Candidate], previous: int, n: int) -> int | None:
        """The largest sample size from `n` down that fits the budget (None when even a little more does not)."""
        allowed = SCREEN_SHARE * self.clock.remaining()
        while n > previous:
            sub = self.sampler.subset(n)
            if sum(self.cost(c, sub) for c in alive) <= allowed:
                return n
            step = max((n - previous) // 2, 1)
            n = n - step if n - step > previous + max(5, previous // 10) else previous
        return None

    # --- the finalists ------------------------------------------------------------------------------------------------

    def measure(self, finalists: list[tuple], *, measure_speed: bool, measure_robustness: bool,
                speed_config: SpeedConfig | None, integration: Any) -> list[tuple[ModelRun, dict]]:
        out = []
        for i, (c, ds, _) in enumerate(finalists):
            self.progress("models", i, len(finalists))
            left = len(finalists) - i
            share = self.clock.remaining() / left
            planned = (self.replay or {}).get("finals", {}).get(c.ref)
            if planned is not None:
                basis = planned["basis"]
                basis_ds = self.ds if basis == "full" else self.sampler.subset(planned["n"])
                speed = self._speed_config(speed_config, planned["per_step"])
                self.ctx.robustness_sample = planned["robustness"]
            else:
                basis_ds, basis = self._basis(c, share)
                speed = self._speed_config(speed_config, self._speed_cap(speed_config, share))
                self.ctx.robustness_sample = self._robustness_sample(c, share) if measure_robustness else 0
            self.plan["finals"][c.ref] = {"basis": basis, "robustness": self.ctx.robustness_sample,
                                          "n": getattr(self, "basis_n", None) if basis != "full" else None,
                                          "per_step": speed.max_seconds_per_step if speed else None}
            self.ctx.integration = integration
            stored = self._stored_speed(c, speed) if measure_speed else None
            run = self.run(c, basis_ds, measure_speed=measure_speed and speed is not None and stored is None,
                           speed=speed, measure_robustness=self.ctx.robustness_sample > 0)
            self.ctx.integration = None
            if run.status == "ok" and stored is not None:
                run.speed = {**run.speed, **stored[0]}
                run.notes.append(f"speed and memory measured on {stored[1]} on this machine, reused from the cache "
                                 "(--no-cache measures them again)")
            elif run.status == "ok" and measure_speed and speed is not None:
                if c.kind == "dense" and not self.media and self.clock.remaining() > 30:
                    self._memory_alone(c, run)
                self._store_speed(c, speed, run)
            out.append((run, {"basis": basis, "basis_text": self._basis_text(basis_ds)}))
        self.progress("models", len(finalists), len(finalists))
        return out

    def _robustness_sample(self, c: Candidate, share: float) -> int:
        """How many texts the perturbation test can take (each is embedded four times) in a fifth of the share."""
        if self.clock.budget is None or self.media or not c.seconds_per_char:
            return 50
        texts = self.texts(self.ds)[-1][1]  # queries (retrieval) or the texts themselves
        mean_chars = sum(map(len, texts[:500])) / max(min(len(texts), 500), 1)
        n = int(0.2 * share / (4 * mean_chars * c.seconds_per_char + 1e-9))
        if n < 5:
            self.stop(f"{c.name or c.ref}: robustness (no time left in the budget)")
            return 0
        return min(50, n)

    def _basis(self, c: Candidate, share: float) -> tuple[Dataset, str]:
        if self.media or c.full is not None or self.clock.budget is None or self.cost(c, self.ds) <= 0.6 * share:
            return self.ds, "full"
        sub = getattr(self, "sub", None) or self.sampler.subset(min(self.sampler.size(), 20))
        self.basis_n = self.sampler._len(sub) if not isinstance(sub, RetrievalSet) else len(sub.queries)
        self.stop(f"{c.name or c.ref}: quality measured on the last screening sample, not the whole "
                                 f"set (~{self.cost(c, self.ds):.0f} s more than the budget left)")
        return sub, "pool"

    def _basis_text(self, ds: Dataset) -> str:
        d = self.sampler.describe(ds) if ds is not self.ds else None
        if d is None:
            return "the whole set"
        if "documents" in d:
            return (f"a pooled sample: {d['queries']} of {d['of_queries']} queries against {d['documents']} of "
                    f"{d['of_documents']} documents")
        return f"a sample of {d['items']} of {d['of_items']} items"

    def _speed_cap(self, given: SpeedConfig | None, share: float) -> float | None:
        """Seconds per load-test step that fit a quarter of the finalist's share (None: no time for a load test)."""
        cfg = given or SpeedConfig()
        if self.clock.budget is None:
            return cfg.max_seconds_per_step
        per_step = min(cfg.max_seconds_per_step, 0.25 * share / (len(cfg.batch_sizes) + len(cfg.concurrency)))
        if per_step < 0.5:
            self.stop("the load test was skipped: no time left in the budget")
            return None
        return per_step

    def _speed_config(self, given: SpeedConfig | None, per_step: float | None) -> SpeedConfig | None:
        cfg = given or SpeedConfig()
        if per_step is None:
            return None
        return SpeedConfig(sample_texts=cfg.sample_texts, batch_sizes=cfg.batch_sizes, concurrency=cfg.concurrency,
                           requests_per_level=cfg.requests_per_level, max_seconds_per_step=per_step,
                           warmup=cfg.warmup, seed=cfg.seed)

    def _speed_key(self, c: Candidate, speed: SpeedConfig | None) -> str | None:
        key = self.speed_keys.get(c.ref)
        if key is None or self.ctx.cache is None or speed is None:
            return None
        import hashlib
        import json

        config = {k: v for k, v in speed.__dict__.items() if k != "max_seconds_per_step"}  # the budget's cap
        what = json.dumps([key, self.ds.name, self.ds.summary(), config, self.options["device"],
                           self.options["batch_size"]], sort_keys=True, default=str)
        return hashlib.sha256(what.encode()).hexdigest()

    def _stored_speed(self, c: Candidate, speed: SpeedConfig | None) -> tuple[dict, str] | None:
        key = self._speed_key(c, speed)
        return self.ctx.cache.get_measurement(key) if key else None

    def _store_speed(self, c: Candidate, speed: SpeedConfig | None, run: ModelRun) -> None:
        key = self._speed_key(c, speed)
        if key and run.speed.get("throughput"):
            self.ctx.cache.put_measurement(key, run.speed)

    def _memory_alone(self, c: Candidate, run: ModelRun) -> None:
        from embedwise.validators.encoders import make_encoder
        from embedwise.validators.memory import probe

        o = self.options
        enc = make_encoder(c.ref, db=o["db"], device=o["device"], trust_remote_code=o["trust_remote_code"],
                           batch_size=o["batch_size"])
        role, texts = self.texts(self.ds)[0]
        sample = [texts[i] for i in self.sampler._order("probe", list(range(len(texts))))[:64]]
        result = probe(enc, sample, batch_size=o["batch_size"], timeout=min(600.0, max(30.0, self.clock.remaining())))
        if result is not None:
            run.speed["model_memory"] = result

    def not_measured(self, final_runs: list[tuple[ModelRun, dict]], full: bool, measure_speed: bool) -> list[str]:
        out = list(self.budget_stops)
        if self.pool_note:
            out.append(self.pool_note)
        if not measure_speed:
            out.append("speed and memory (--no-speed)")
        for run, basis in final_runs:
            if run.status == "ok" and run.kind == "dense" and "model_memory" not in run.speed and measure_speed:
                out.append(f"{run.model}: memory alone (no time left); the in-process figure is shown")
            if run.kind == "api":
                out.append(f"{run.model}: latency from this network, not from your servers")
        out.append("speed on this machine's CPU: a GPU or a larger CPU changes latency, throughput and cost")
        return out

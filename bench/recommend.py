"""The rules engine's time: durable-rules (the chosen shape) beside the plain-Python oracle, measured in the same run.

On the curated knowledge base and on a generated one of 10,000 models, for a set of requirements:
  - durable      the shipped engine: durable-rules reasons over the requirements (O(rules) firings), then each
                 active rule's predicate is applied to every model at once;
  - oracle       the plain-Python evaluator of the same rule files (every rule against every model);
  - per_model    the other shape: one durable-rules fact per model (O(models x rules) firings);
each as the rule evaluation alone ("rules") and as the whole `recommend()` call ("total": views, rules, shortlist).
Then `embedwise recommend` as a whole process.

Goals: under 100 ms on the curated KB, under 1 s at 10,000 models, `embedwise recommend` under 1 s.
Prints figures; asserts nothing (shared machines are noisy).

    python bench/recommend.py [--models 10000] [--requirements 12] [--repeat 3]
"""
from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from embedwise.engine.estimates import prepare_rows
from embedwise.engine.recommend import load_rows, recommend
from embedwise.engine.requirements import requirements_from_dict
from embedwise.engine.rules import load_rules
from embedwise.engine.synthetic import random_requirements, random_rows
from embedwise.kb import store

FIXED = [
    {"task": "semantic_search"},
    {"task": "rag", "data": {"languages": ["en", "zh"], "domain": "legal", "documents": 20_000_000},
     "deployment": {"gpu_memory_gb": 16, "latency_p95_ms": 100}, "budget": {"monthly_usd": 500}},
    {"task": "classification", "deployment": {"hardware": "cpu", "data_must_stay_on_premises": True}},
    {"task": "cross_modal_search", "data": {"modality": "image", "query_modality": "text"}},
]


def requirements_set(n: int) -> list:
    rng = random.Random(42)
    reqs = [requirements_from_dict(r) for r in FIXED]
    while len(reqs) < n:
        reqs.append(random_requirements(rng))
    return reqs


def measure(rows: list[dict], reqs: list, engine: str, repeat: int) -> tuple[float, float]:
    """Median rule-evaluation time and median whole recommend() time, in ms, over requirements x repeats."""
    ruleset = load_rules()
    recommend(reqs[0], rows=rows, rules=ruleset, engine=engine)  # warm: compile, caches
    rules_ms, total_ms = [], []
    for _ in range(repeat):
        for req in reqs:
            t = time.perf_counter()
            sl = recommend(req, rows=rows, rules=ruleset, engine=engine)
            total_ms.append((time.perf_counter() - t) * 1000)
            rules_ms.append(sl.engine["ms"]["rules"])
    return statistics.median(rules_ms), statistics.median(total_ms)


def report(label: str, rows: list[dict], reqs: list, repeat: int, per_model_reqs: int) -> None:
    print(f"\n{label}: {len(rows)} models, {len(reqs)} requirements x {repeat}")
    print(f"  {'engine':<10} {'rules (median)':>15} {'recommend() (median)':>22}")
    results = {}
    for engine, rq, rp in (("durable", reqs, repeat), ("oracle", reqs, repeat),
                           ("per_model", reqs[:per_model_reqs], 1)):
        if not rq:
            continue
        r, t = measure(rows, rq, engine, rp)
        results[engine] = r
        note = f"  ({len(rq)} requirements, 1 run)" if engine == "per_model" else ""
        print(f"  {engine:<10} {r:>12.1f} ms {t:>19.1f} ms{note}")
    if "durable" in results and "oracle" in results:
        print(f"  durable / oracle: {results['durable'] / results['oracle']:.2f}x"
              + (f";  per_model / durable: {results['per_model'] / results['durable']:.1f}x"
                 if "per_model" in results else ""))


def whole_process(req_file: Path, home: Path, repeat: int = 5) -> list[float]:
    exe = Path(sys.executable).with_name("embedwise")
    env = {**os.environ, "EMBEDWISE_HOME": str(home)}
    subprocess.run([str(exe), "recommend", "--requirements", str(req_file)], env=env, capture_output=True,
                   check=True)  # warm: builds the knowledge base once
    out = []
    for _ in range(repeat):
        t = time.perf_counter()
        subprocess.run([str(exe), "recommend", "--requirements", str(req_file), "--top", "10"], env=env,
                       capture_output=True, check=True)
        out.append((time.perf_counter() - t) * 1000)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=10_000)
    parser.add_argument("--requirements", type=int, default=12)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--per-model", type=int, default=2, help="requirements to time the per-model shape on")
    args = parser.parse_args()
    reqs = requirements_set(args.requirements)
    print(f"rules: {len(load_rules().rules)}; durable-rules host without timer thread; one lock; cores: "
          f"{os.cpu_count()}; load average: {os.getloadavg()[0]:.2f}")

    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        path = home / "kb.sqlite"
        store.build(path)
        db = store.open_db(path, build_if_missing=False)
        t = time.perf_counter()
        curated = prepare_rows(load_rows(db))
        load_ms = (time.perf_counter() - t) * 1000
        report("curated KB", curated, reqs, args.repeat, args.per_model)
        print(f"  (reading and preparing the rows from SQLite: {load_ms:.1f} ms, not included above)")

        t = time.perf_counter()
        generated = prepare_rows(random_rows(args.models, seed=1))
        print(f"\n(generated {args.models} models in {time.perf_counter() - t:.1f} s)")
        report("generated KB", generated, reqs, args.repeat, args.per_model)

        req_file = home / "requirements.yaml"
        example = Path(__file__).resolve().parents[1] / "examples" / "requirements.yaml"
        req_file.write_text(example.read_text() if example.exists() else "task: rag\n")
        samples = whole_process(req_file, home)
        print(f"\n`embedwise recommend` whole process (curated KB, {len(samples)} runs): "
              f"median {statistics.median(samples):.0f} ms, min {min(samples):.0f} ms, max {max(samples):.0f} ms")


if __name__ == "__main__":
    main()

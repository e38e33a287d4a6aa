"""Query latency on the curated knowledge base and on a generated one of 100,000 models.

Goals: an indexed filter under 20 ms at 100k; `embedwise kb query` under 0.5 s as a whole process.
Prints figures; asserts nothing (shared machines are noisy).

    python bench/kb_query.py [--models 100000]
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

from embedwise.kb import store
from embedwise.kb.query import compile_query, search

QUERIES = [
    "modality=text commercial_use lang=zho params<1B dims<=1024 sort=-mteb.retrieval limit=10",
    "hosting=api price<0.1 limit=50",
    "domain=legal limit=50",
    "modality=image open_weights limit=20",
    "lang=deu sort=-downloads limit=10",
    "multilingual",
    "legal bert",
    "params<200M sort=-mteb.mean limit=10",
]


def _median_ms(fn, repeat: int) -> float:
    fn()  # warm
    samples = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t0) * 1000)
    return statistics.median(samples)


def time_queries(db, repeat: int = 20) -> dict[str, float]:
    """Per query: the SQL filter alone (count of matches) and the whole `search` (rows decoded into dicts)."""
    out = {}
    for q in QUERIES:
        compiled = compile_query(q)
        count_sql = f"SELECT count(*) FROM ({compiled.sql})"
        matches = db.execute(count_sql, compiled.params).fetchone()[0]
        sql_ms = _median_ms(lambda: db.execute(count_sql, compiled.params).fetchone(), repeat)
        full_ms = _median_ms(lambda: search(db, q), repeat)
        print(f"  filter {sql_ms:8.2f} ms   search {full_ms:8.2f} ms   {matches:6d} rows   {q}")
        out[q] = sql_ms
    return out


def generated_kb(path: Path, n: int) -> None:
    """n models made from the curated ones, with shuffled facts, written through the real store."""
    curated = store.load_records(store.open_db())
    rng = random.Random(0)
    records = []
    for i in range(n):
        base = rng.choice(curated)
        langs = rng.sample(["eng", "zho", "deu", "fra", "spa", "jpn", "ara", "hin", "rus", "por"], rng.randint(1, 4))
        records.append(base.model_copy(update={
            "id": f"gen{i // 1000}/{base.id.split('/')[-1]}-{i}",
            "languages": langs,
            "parameters": rng.randint(10**6, 10**10),
            "downloads": rng.randint(0, 10**7),
        }))
    db = store.sqlite_utils.Database(path)
    store.create_schema(db)
    store.write_records(db, records)
    db.conn.commit()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--models", type=int, default=100_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["EMBEDWISE_HOME"] = tmp
        db = store.open_db()
        print(f"curated KB: {db['models'].count} models")
        time_queries(db)
        big = Path(tmp) / "big.sqlite"
        t0 = time.perf_counter()
        generated_kb(big, args.models)
        print(f"generated KB: {args.models} models in {time.perf_counter() - t0:.1f} s")
        bigdb = store.sqlite_utils.Database(big)
        results = time_queries(bigdb, repeat=5)
        for q in (QUERIES[1], QUERIES[2], QUERIES[3]):
            print(f"indexed filter {q!r} at {args.models}: {results[q]:.2f} ms (goal < 20 ms)")
        samples = []
        for _ in range(5):
            t0 = time.perf_counter()
            subprocess.run([sys.executable, "-m", "embedwise.cli", "kb", "query", "modality=text", "lang=zho",
                            "limit=10"], check=True, capture_output=True)
            samples.append(time.perf_counter() - t0)
        print(f"`embedwise kb query` whole process, median of 5: {statistics.median(samples):.3f} s (goal < 0.5 s)")


if __name__ == "__main__":
    main()

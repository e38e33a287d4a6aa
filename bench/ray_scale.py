"""Encoding on Ray against the local path, on the same documents: documents/s with 1 and 2 actors, and Ray's overhead
at one actor (goal: within 15% of the local run's wall time). Prints figures, asserts nothing (shared machines are
noisy: the rounds alternate the three paths and the best of each is compared).

    python bench/ray_scale.py [--eval DIR] [--docs 1000] [--model ID] [--rounds 2] [--seed 42]

The documents are a seeded sample of SciFact's corpus (title + text, as MTEB reads it). Each path embeds them from
nothing, without the cache:

- local: a fresh Python process imports sentence-transformers, loads the model and encodes (torch on every core),
  as `embedwise validate` does without `--ray`;
- Ray, 1 actor with every CPU (the same cores as the local run): the Ray Data job, with the actor's start, its imports
  and its model load;
- Ray, 2 actors with half the CPUs each: the same job, the pool twice as large.

A one-document job of each Ray layout gives its fixed cost (actor start, imports, model load), so the steady
throughput is documents / (job seconds - fixed cost): the per-actor figure the README scales to ten million documents.
Ray's own start (`ray.init`) is printed apart: it is paid once per run, not per model.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
MINILM = "sentence-transformers/all-MiniLM-L6-v2"


def documents(eval_dir: Path, n: int, seed: int) -> list[str]:
    from embedwise.validators.data import load_data

    ds = load_data(eval_dir / "scifact", "retrieval")
    texts = [ds.doc_text(d) for d in ds.corpus]
    return random.Random(seed).sample(texts, min(n, len(texts)))


def local_child(model: str, texts_file: Path, vectors_file: Path) -> None:
    """The local path in this (fresh) process: import and load, then encode; seconds as JSON on standard output."""
    import numpy as np

    from embedwise.validators.encoders import make_encoder

    texts = json.loads(texts_file.read_text(encoding="utf-8"))
    enc = make_encoder(model)
    t0 = time.perf_counter()
    enc.load()
    t_load = time.perf_counter() - t0
    t0 = time.perf_counter()
    vecs, _ = enc.embed(texts, "document")
    t_encode = time.perf_counter() - t0
    np.save(vectors_file, vecs)
    print(json.dumps({"load": t_load, "encode": t_encode}))


def local_run(model: str, texts_file: Path, vectors_file: Path) -> dict:
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, __file__, "--local-child", model, str(texts_file), str(vectors_file)],
                         capture_output=True, text=True, check=True)
    return {**json.loads(out.stdout.strip().splitlines()[-1]), "total": time.perf_counter() - t0}


def ray_job(backend, model: str, texts: list[str]) -> tuple[float, object]:
    from embedwise.validators.encoders import make_encoder

    t0 = time.perf_counter()
    vecs, _ = backend.embed(make_encoder(model), texts, "document", None, None, "bench")
    return time.perf_counter() - t0, vecs


def main() -> int:
    if sys.argv[1:2] == ["--local-child"]:
        sys.path.insert(0, str(REPO))
        local_child(sys.argv[2], Path(sys.argv[3]), Path(sys.argv[4]))
        return 0
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--eval", help="evaluation folder (default $EMBEDWISE_EVAL_DIR or ../shared/eval)")
    parser.add_argument("--docs", type=int, default=1000, help="SciFact documents to embed (it has 5,183)")
    parser.add_argument("--model", default=MINILM)
    parser.add_argument("--rounds", type=int, default=2, help="rounds of local, 1 actor, 2 actors")
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    sys.path.insert(0, str(REPO))
    import numpy as np

    from embedwise.validators.distributed import make_backend

    eval_dir = Path(args.eval or os.environ.get("EMBEDWISE_EVAL_DIR") or REPO.parent / "shared" / "eval")
    texts = documents(eval_dir, args.docs, args.seed)
    n = len(texts)
    cpus = os.cpu_count() or 2
    half = max(1, cpus // 2)
    print(f"{n} SciFact documents, {args.model}, {cpus} CPUs, {args.rounds} rounds")
    tmp = Path(tempfile.mkdtemp(prefix="ray-scale-"))
    texts_file, vectors_file = tmp / "texts.json", tmp / "local.npy"
    texts_file.write_text(json.dumps(texts), encoding="utf-8")

    t0 = time.perf_counter()
    one = make_backend("local", actors=1, cpus_per_actor=cpus)
    print(f"ray.init: {time.perf_counter() - t0:.1f} s (once per run)\n")
    two = make_backend("local", actors=2, cpus_per_actor=half)  # the same instance
    layouts = {f"ray 1 actor x {cpus} CPU": one, f"ray 2 actors x {half} CPU": two}
    best: dict[str, float] = {}
    steady: dict[str, float] = {}
    try:
        for r in range(1, args.rounds + 1):
            local = local_run(args.model, texts_file, vectors_file)
            best["local"] = min(best.get("local", float("inf")), local["total"])
            print(f"round {r} local:  {local['total']:7.1f} s (process start, import and load {local['load']:.1f} s, "
                  f"encode {local['encode']:.1f} s): {n / local['encode']:.1f} docs/s encoding, "
                  f"{n / local['total']:.1f} docs/s end to end")
            local_vecs = np.load(vectors_file)
            for label, backend in layouts.items():
                fixed, _ = ray_job(backend, args.model, texts[:1])
                seconds, vecs = ray_job(backend, args.model, texts)
                best[label] = min(best.get(label, float("inf")), seconds)
                rate = n / max(seconds - fixed, 1e-9)
                steady[label] = max(steady.get(label, 0.0), rate)
                diff = float(np.abs(np.asarray(vecs) - local_vecs).max())
                print(f"round {r} {label}: {seconds:7.1f} s (fixed cost {fixed:.1f} s: actors, imports, model): "
                      f"{n / seconds:.1f} docs/s end to end, {rate:.1f} steady ({rate / backend.actors:.1f} per "
                      f"actor); max |vector - local| {diff:.1e}")
    finally:
        two.close()
        one.close()
    s1, s2 = (best[k] for k in layouts)
    print("\nbest of each path:")
    print(f"  local                {best['local']:7.1f} s  {n / best['local']:6.1f} docs/s")
    for label in layouts:
        print(f"  {label:<20} {best[label]:7.1f} s  {n / best[label]:6.1f} docs/s "
              f"(steady {steady[label]:.1f} docs/s, {steady[label] / layouts[label].actors:.1f} per actor)")
    overhead = s1 / best["local"] - 1
    print(f"Ray's overhead at one actor: {overhead:+.1%} of the local run's wall time "
          f"(goal: within 15%: {'met' if overhead <= 0.15 else 'NOT met'})")
    print(f"2 actors against 1: {s1 / s2:.2f}x the throughput (the same {cpus} CPUs, two model replicas)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

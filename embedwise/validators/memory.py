"""A model's own memory, measured alone: a fresh Python process loads only this model and encodes a sample.

In the process that ran earlier models, RSS says little about the next one (freed memory is kept and reused by the
allocator, libraries are already imported), so `validate` and `choose` ask a child process instead:

    {"weights_mb", "import_mb", "load_mb", "encode_peak_mb", "model_mb", "peak_rss_mb", "basis"}

`load_mb` is the RSS growth of loading the model (weights and what loading allocates), `encode_peak_mb` the growth
above that while encoding the sample at the given batch size, `model_mb` their sum: what the model needs on top of
the runtime (`import_mb`: Python + torch + sentence-transformers). Only local sentence-transformers models are probed;
BM25 and API models keep the in-process figures.
"""
from __future__ import annotations

import json
import subprocess
import sys
from typing import Any, Sequence

TIMEOUT_S = 600


def probe(enc: Any, texts: Sequence[str], batch_size: int = 32, timeout: float = TIMEOUT_S) -> dict | None:
    """The child process's figures for `enc` (a `SentenceTransformerEncoder`), or None for other encoders."""
    source = getattr(enc, "source", None)
    if source is None or enc.kind != "dense":
        return None
    spec = {"source": source, "device": getattr(enc, "device", None) or getattr(enc, "device_request", None) or "cpu",
            "trust_remote_code": bool(getattr(enc, "trust_remote_code", False)), "texts": list(texts),
            "prefix": enc.prefix_for("document"), "batch_size": batch_size}
    try:
        done = subprocess.run([sys.executable, "-m", "embedwise.validators.memory"], input=json.dumps(spec),
                              capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return {"error": f"the memory probe took over {timeout:.0f} s"}
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return {"error": f"the memory probe failed: {last[:300]}"}
    return json.loads(lines[-1])


def _child() -> None:
    import gc
    import threading
    import time

    from embedwise.validators.load import current_rss_mb

    spec = json.loads(sys.stdin.read())
    import sentence_transformers  # noqa: F401 - imported before the baseline: the runtime is not the model's
    import torch  # noqa: F401

    gc.collect()
    base = current_rss_mb() or 0.0
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(spec["source"], device=spec["device"], trust_remote_code=spec["trust_remote_code"])
    gc.collect()
    loaded = current_rss_mb() or 0.0
    peak = [loaded]
    stop = threading.Event()

    def watch() -> None:
        while not stop.wait(0.01):
            peak[0] = max(peak[0], current_rss_mb() or 0.0)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    model.encode(spec["texts"], prompt=spec["prefix"] or None, batch_size=spec["batch_size"], show_progress_bar=False)
    stop.set()
    watcher.join()
    peak[0] = max(peak[0], current_rss_mb() or 0.0)
    weights = sum(p.numel() * p.element_size() for p in model.parameters()) / 2**20
    print(json.dumps({
        "weights_mb": round(weights, 1), "import_mb": round(base, 1), "load_mb": round(loaded - base, 1),
        "encode_peak_mb": round(peak[0] - loaded, 1), "model_mb": round(peak[0] - base, 1),
        "peak_rss_mb": round(peak[0], 1), "texts": len(spec["texts"]), "batch_size": spec["batch_size"],
        "basis": "a fresh process: RSS after importing torch and sentence-transformers, after loading, peak while "
                 f"encoding {len(spec['texts'])} texts at batch size {spec['batch_size']}",
        "seconds": round(time.process_time(), 2)}))


if __name__ == "__main__":
    _child()

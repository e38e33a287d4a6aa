"""Speed and memory under load: load time, throughput at several batch sizes, single-query latency percentiles at
several concurrency levels, peak memory (process RSS; GPU memory where there is a GPU).

The work is capped so it stays proportionate on a CPU: at most `sample_texts` texts per batch size and
`requests_per_level` requests per concurrency level, and each step stops early after `max_seconds_per_step`.
"""
from __future__ import annotations

import os
import random
import resource
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np

Progress = Callable[[str, int, int], None]


@dataclass
class SpeedConfig:
    sample_texts: int = 256
    batch_sizes: tuple[int, ...] = (1, 16, 64)
    concurrency: tuple[int, ...] = (1, 4, 16)
    requests_per_level: int = 48
    max_seconds_per_step: float = 15.0
    warmup: int = 2
    seed: int = 42


# --- memory ------------------------------------------------------------------------------------------------------------

def current_rss_mb() -> float | None:
    try:
        with open("/proc/self/statm") as fh:
            pages = int(fh.read().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError, IndexError):
        return None


def max_rss_mb() -> float:
    """The process's peak RSS since it started (kilobytes on Linux, bytes on macOS)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 1024


class MemoryMonitor:
    """Samples the process's RSS in a thread; `peak_mb` is the highest seen, `baseline_mb` the RSS at start."""

    def __init__(self, interval: float = 0.02):
        self.interval = interval
        self.baseline_mb = current_rss_mb()
        self.peak_mb = self.baseline_mb or 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="embedwise-rss", daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            rss = current_rss_mb()
            if rss is not None and rss > self.peak_mb:
                self.peak_mb = rss

    def __enter__(self) -> "MemoryMonitor":
        if self.baseline_mb is not None:
            self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=1)
        rss = current_rss_mb()
        if rss is not None:
            self.peak_mb = max(self.peak_mb, rss)

    def result(self) -> dict:
        if self.baseline_mb is None:  # no /proc: the process-wide peak is all there is
            return {"peak_rss_mb": round(max_rss_mb(), 1), "rss_delta_mb": None}
        return {"peak_rss_mb": round(self.peak_mb, 1), "rss_delta_mb": round(self.peak_mb - self.baseline_mb, 1)}


def gpu_memory_start(device: str | None) -> None:
    if device and device.startswith("cuda"):
        import torch

        torch.cuda.reset_peak_memory_stats()


def gpu_memory_peak_mb(device: str | None) -> float | None:
    if device and device.startswith("cuda"):
        import torch

        return round(torch.cuda.max_memory_allocated() / 2**20, 1)
    return None


# --- speed -------------------------------------------------------------------------------------------------------------

def percentiles(latencies_s: Sequence[float]) -> dict:
    arr = np.asarray(latencies_s, dtype=float) * 1000.0
    if not len(arr):
        return {"p50_ms": None, "p95_ms": None, "p99_ms": None, "mean_ms": None}
    return {"p50_ms": round(float(np.percentile(arr, 50)), 3), "p95_ms": round(float(np.percentile(arr, 95)), 3),
            "p99_ms": round(float(np.percentile(arr, 99)), 3), "mean_ms": round(float(arr.mean()), 3)}


def sample(texts: Sequence[str], n: int, seed: int) -> list[str]:
    texts = [t for t in texts if t.strip()] or list(texts)
    if len(texts) <= n:
        return list(texts)
    return random.Random(seed).sample(list(texts), n)


def measure_speed(encoder: Any, documents: Sequence[str], queries: Sequence[str], config: SpeedConfig | None = None,
                  progress: Progress | None = None, stage: str = "speed") -> dict:
    """Throughput on sampled documents at each batch size, then single-query latency at each concurrency level."""
    cfg = config or SpeedConfig()
    progress = progress or (lambda s, d, t: None)
    encoder.load()
    n_docs = min(cfg.sample_texts, 64) if encoder.kind == "api" else cfg.sample_texts  # API calls cost money
    docs = sample(documents, n_docs, cfg.seed)
    qs = sample(queries or documents, max(cfg.requests_per_level, 1), cfg.seed + 1)
    steps = len(cfg.batch_sizes) + len(cfg.concurrency)
    done = 0
    progress(stage, done, steps)
    result: dict[str, Any] = {"load_seconds": round(encoder.load_seconds or 0.0, 4),
                              "import_seconds": round(getattr(encoder, "import_seconds", None) or 0.0, 4),
                              "sample_texts": len(docs),
                              "throughput": [], "latency": []}
    token_counts = encoder.count_tokens(docs)
    mean_tokens = float(np.mean(token_counts)) if token_counts else 0.0
    result["mean_tokens_per_text"] = round(mean_tokens, 1)
    for text in docs[: cfg.warmup]:  # first calls allocate buffers and compile kernels
        encoder.query_once(text)
    for bs in cfg.batch_sizes:
        processed, tokens, t0 = 0, 0, time.perf_counter()
        while processed < len(docs):
            chunk = docs[processed:processed + bs]
            encoder.encode_batch(chunk, bs)
            tokens += sum(token_counts[processed:processed + len(chunk)])
            processed += len(chunk)
            if time.perf_counter() - t0 > cfg.max_seconds_per_step:
                break
        seconds = time.perf_counter() - t0
        result["throughput"].append({
            "batch_size": bs, "texts": processed, "seconds": round(seconds, 4),
            "docs_per_s": round(processed / seconds, 2) if seconds else None,
            "tokens_per_s": round(tokens / seconds, 1) if seconds else None})
        done += 1
        progress(stage, done, steps)
    for level in cfg.concurrency:
        latencies: list[float] = []
        lock = threading.Lock()
        deadline = time.perf_counter() + cfg.max_seconds_per_step
        n_requests = max(cfg.requests_per_level, level)

        errors: list[str] = []

        def one(text: str) -> None:
            if time.perf_counter() > deadline:
                return
            start = time.perf_counter()
            try:
                encoder.query_once(text)
            except Exception as exc:  # counted, never fatal: the report says how many requests failed
                with lock:
                    errors.append(f"{type(exc).__name__}: {exc}")
                return
            elapsed = time.perf_counter() - start
            with lock:
                latencies.append(elapsed)

        t0 = time.perf_counter()
        with ThreadPoolExecutor(max_workers=level) as pool:
            list(pool.map(one, [qs[i % len(qs)] for i in range(n_requests)]))
        wall = time.perf_counter() - t0
        entry = {"concurrency": level, "requests": len(latencies), "errors": len(errors),
                 "qps": round(len(latencies) / wall, 2) if wall else None, **percentiles(latencies)}
        if errors:
            entry["first_error"] = errors[0][:300]
        result["latency"].append(entry)
        done += 1
        progress(stage, done, steps)
    best = max((t for t in result["throughput"] if t["docs_per_s"]), key=lambda t: t["docs_per_s"], default=None)
    result["best_docs_per_s"] = best["docs_per_s"] if best else None
    result["best_tokens_per_s"] = best["tokens_per_s"] if best else None
    single = next((lat for lat in result["latency"] if lat["concurrency"] == 1), None)
    result["latency_p50_ms"] = single["p50_ms"] if single else None
    result["latency_p95_ms"] = single["p95_ms"] if single else None
    result["latency_p99_ms"] = single["p99_ms"] if single else None
    result["serialized_requests"] = bool(getattr(encoder, "serialize_requests", True))
    return result

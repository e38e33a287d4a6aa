"""Speed on the cluster, with the keys of `load.measure_speed`: the throughput of the actor pool as the number of
actors grows (each actor encodes the sampled documents, so the work per actor stays the same), then single-query
latency at each concurrency level, the requests driven from a Ray actor against the pool of model replicas.

The replicas are plain Ray actors that load the model once and serve one call at a time, as one local model replica
does; their start-up is left out of the figures, as the local test leaves out loading.
"""
from __future__ import annotations

import asyncio
import time
from typing import Any, Callable, Sequence

import numpy as np

from embedwise.errors import ModelRunError
from embedwise.validators.distributed.cluster import RESTARTS, first_line, model_failure
from embedwise.validators.load import SpeedConfig, percentiles, sample

Progress = Callable[[str, int, int], None]


class ModelReplica:
    """One copy of the model on the cluster."""

    def __init__(self, encoder: Any):
        self.encoder = encoder
        self.error: str | None = None
        try:
            encoder.load()
        except Exception as exc:  # noqa: BLE001 - reported by `ready`, not restarted (it would fail again)
            self.error = str(exc) if isinstance(exc, ModelRunError) else f"{type(exc).__name__}: {exc}"

    def ready(self) -> dict:
        return {"error": self.error, "load_seconds": self.encoder.load_seconds,
                "import_seconds": self.encoder.import_seconds, "device": getattr(self.encoder, "device", None)}

    def count_tokens(self, texts: list[str]) -> list[int]:
        return self.encoder.count_tokens(texts)

    def encode(self, texts: list[str], batch_size: int) -> int:
        self.encoder.encode_batch(texts, batch_size)
        return len(texts)

    def query(self, text: str) -> None:
        self.encoder.query_once(text)


class LoadClient:
    """Sends single-query requests to the replicas from inside the cluster, `concurrency` of them in flight."""

    async def run(self, replicas: list[Any], texts: list[str], concurrency: int, requests: int,
                  max_seconds: float) -> dict:
        latencies: list[float] = []
        errors: list[str] = []
        deadline = time.perf_counter() + max_seconds
        sent = 0

        async def one_at_a_time() -> None:
            nonlocal sent
            while sent < requests and time.perf_counter() < deadline:
                i, sent = sent, sent + 1  # one event loop: no lock needed
                start = time.perf_counter()
                try:
                    await replicas[i % len(replicas)].query.remote(texts[i % len(texts)])
                except Exception as exc:  # noqa: BLE001 - counted, never fatal, as in the local test
                    cause = getattr(exc, "cause", None) or exc
                    errors.append(f"{type(cause).__name__}: {first_line(str(cause))}")
                    continue
                latencies.append(time.perf_counter() - start)

        t0 = time.perf_counter()
        await asyncio.gather(*(one_at_a_time() for _ in range(concurrency)))
        return {"latencies": latencies, "errors": errors, "wall": time.perf_counter() - t0}


def actor_steps(pool: int) -> list[int]:
    """1, 2, 4, ... actors, and the whole pool."""
    steps, n = [], 1
    while n < pool:
        steps.append(n)
        n *= 2
    return steps + [pool]


def measure_speed(enc: Any, documents: Sequence[str], queries: Sequence[str], config: SpeedConfig | None,
                  progress: Progress, stage: str, *, actors: int, cpus_per_actor: float,
                  gpus_per_actor: float) -> dict:
    import ray

    cfg = config or SpeedConfig()
    docs = sample(documents, cfg.sample_texts, cfg.seed)
    qs = sample(queries or documents, max(cfg.requests_per_level, 1), cfg.seed + 1)
    steps = actor_steps(actors)
    done = 0
    progress(stage, done, len(steps) + len(cfg.concurrency))
    replica_cls = ray.remote(num_cpus=cpus_per_actor, num_gpus=gpus_per_actor, max_restarts=RESTARTS,
                             max_task_retries=RESTARTS)(ModelReplica)
    replicas = [replica_cls.remote(enc) for _ in range(actors)]
    client = None
    try:
        states = ray.get([r.ready.remote() for r in replicas])
        failed = next((s["error"] for s in states if s["error"]), None)
        if failed:
            raise ModelRunError(failed)
        token_counts = ray.get(replicas[0].count_tokens.remote(docs))
        ray.get([r.query.remote(t) for r in replicas for t in docs[:cfg.warmup]])  # buffers, kernels
        batch_size = max(cfg.batch_sizes)
        result: dict[str, Any] = {"load_seconds": round(states[0]["load_seconds"] or 0.0, 4),
                                  "import_seconds": round(states[0]["import_seconds"] or 0.0, 4),
                                  "sample_texts": len(docs), "actors": actors,
                                  "mean_tokens_per_text": round(float(np.mean(token_counts)), 1) if docs else 0.0,
                                  "throughput": [], "latency": []}
        for n in steps:
            result["throughput"].append(_pool_throughput(replicas[:n], docs, token_counts, batch_size,
                                                         cfg.max_seconds_per_step))
            done += 1
            progress(stage, done, len(steps) + len(cfg.concurrency))
        client = ray.remote(num_cpus=0)(LoadClient).remote()
        for level in cfg.concurrency:
            out = ray.get(client.run.remote(replicas, qs, level, max(cfg.requests_per_level, level),
                                            cfg.max_seconds_per_step))
            entry = {"concurrency": level, "requests": len(out["latencies"]), "errors": len(out["errors"]),
                     "qps": round(len(out["latencies"]) / out["wall"], 2) if out["wall"] else None,
                     **percentiles(out["latencies"])}
            if out["errors"]:
                entry["first_error"] = out["errors"][0][:300]
            result["latency"].append(entry)
            done += 1
            progress(stage, done, len(steps) + len(cfg.concurrency))
    except (KeyboardInterrupt, ModelRunError):
        raise
    except Exception as exc:  # noqa: BLE001 - whatever Ray raises, the run gets one message
        raise model_failure(enc.name, exc) from None
    finally:
        for actor in replicas + ([client] if client is not None else []):
            ray.kill(actor)
    if getattr(enc, "device", None) is None:  # the driver has not loaded the model: the replicas' device
        enc.device = states[0]["device"]
    best = max((t for t in result["throughput"] if t["docs_per_s"]), key=lambda t: t["docs_per_s"], default=None)
    result["best_docs_per_s"] = best["docs_per_s"] if best else None
    result["best_tokens_per_s"] = best["tokens_per_s"] if best else None
    single = next((lat for lat in result["latency"] if lat["concurrency"] == 1), None)
    for p in ("p50", "p95", "p99"):
        result[f"latency_{p}_ms"] = single[f"{p}_ms"] if single else None
    result["serialized_requests"] = True  # each replica serves one request at a time
    return result


def _pool_throughput(replicas: list[Any], docs: list[str], token_counts: list[int], batch_size: int,
                     max_seconds: float) -> dict:
    """Every replica encodes the sampled documents in batches; a free replica takes the next batch until the time
    is up."""
    import ray

    batches = [(docs[s:s + batch_size], sum(token_counts[s:s + batch_size])) for s in range(0, len(docs), batch_size)]
    queues = {r: list(batches) for r in range(len(replicas))}
    pending: dict[Any, tuple[int, int]] = {}
    texts = tokens = 0
    t0 = time.perf_counter()

    def submit(r: int) -> None:
        if queues[r] and time.perf_counter() - t0 <= max_seconds:
            chunk, chunk_tokens = queues[r].pop(0)
            pending[replicas[r].encode.remote(chunk, batch_size)] = (r, chunk_tokens)

    for r in range(len(replicas)):
        submit(r)
    while pending:
        ready, _ = ray.wait(list(pending), num_returns=1)
        r, chunk_tokens = pending.pop(ready[0])
        texts += ray.get(ready[0])
        tokens += chunk_tokens
        submit(r)
    seconds = time.perf_counter() - t0
    return {"actors": len(replicas), "batch_size": batch_size, "texts": texts, "seconds": round(seconds, 4),
            "docs_per_s": round(texts / seconds, 2) if seconds else None,
            "tokens_per_s": round(tokens / seconds, 1) if seconds else None}

"""`RayBackend`: the three things `measure.run_model` asks of a backend (embed, search, measure_speed), on Ray.

Dense models are encoded and timed by actor pools on the cluster. BM25 (its sparse vectors) and API models stay on
the driver: BM25 is a cheap index, and an API is already a remote service that the driver only calls.
"""
from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np

from embedwise.validators.distributed import cluster
from embedwise.validators.load import SpeedConfig

Progress = Callable[[str, int, int], None]


def _noop(stage: str, done: int, total: int) -> None:
    pass


class RayBackend:
    name = "ray"

    def __init__(self, address: str, *, actors: int | None = None, cpus_per_actor: float = 1.0,
                 gpus_per_actor: float = 0.0):
        self.connection = cluster.connect(address)
        import ray

        try:
            resources = ray.cluster_resources()
            cluster.check_resources(resources, cpus_per_actor, gpus_per_actor)
        except BaseException:
            cluster.disconnect(self.connection)
            raise
        self.actors = cluster.pool_size(resources, actors, cpus_per_actor, gpus_per_actor)
        # The speed test waits for its whole pool: only as many actors as the cluster holds now (an encoding pool
        # larger than that works with the actors that fit, the others wait).
        self.speed_actors = min(self.actors, cluster.pool_size(resources, None, cpus_per_actor, gpus_per_actor))
        self.shards = max(1, int(resources.get("CPU", 1)))
        self.cpus_per_actor = cpus_per_actor
        self.gpus_per_actor = gpus_per_actor

    def _on_cluster(self, enc: Any) -> bool:
        return enc.kind == "dense"

    def embed(self, enc: Any, texts: list[str], role: str, cache: Any, progress: Progress | None = None,
              stage: str = "encode") -> tuple[np.ndarray, list[int]]:
        if not self._on_cluster(enc):
            return enc.embed(texts, role, cache, progress, stage)
        from embedwise.validators.distributed.embed import embed

        return embed(enc, texts, role, cache, progress or _noop, stage, actors=self.actors,
                     cpus_per_actor=self.cpus_per_actor, gpus_per_actor=self.gpus_per_actor)

    def search(self, query_vecs: np.ndarray, doc_vecs: np.ndarray, query_ids: Sequence[str],
               doc_ids: Sequence[str]) -> dict[str, dict[str, float]]:
        from embedwise.validators.distributed.search import sharded_search

        return sharded_search(query_vecs, doc_vecs, query_ids, doc_ids, shards=self.shards)

    def measure_speed(self, enc: Any, documents: Sequence[str], queries: Sequence[str], config: SpeedConfig | None,
                      progress: Progress | None, stage: str) -> dict:
        if not self._on_cluster(enc):
            from embedwise.validators.load import measure_speed

            return measure_speed(enc, documents, queries, config, progress, stage)
        from embedwise.validators.distributed.speed import measure_speed

        return measure_speed(enc, documents, queries, config, progress or _noop, stage, actors=self.speed_actors,
                             cpus_per_actor=self.cpus_per_actor, gpus_per_actor=self.gpus_per_actor)

    def close(self) -> None:
        cluster.disconnect(self.connection)
        self.connection = "present"  # closed once


def make_backend(address: str, *, actors: int | None = None, cpus_per_actor: float = 1.0,
                 gpus_per_actor: float = 0.0) -> RayBackend:
    """The backend for `--ray ADDRESS` ("local", "auto", host:port or ray://host:port)."""
    return RayBackend(address, actors=actors, cpus_per_actor=cpus_per_actor, gpus_per_actor=gpus_per_actor)

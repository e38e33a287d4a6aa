"""Validation on a Ray cluster (`embedwise validate ... --ray [ADDRESS]`).

`make_backend(address, actors=, cpus_per_actor=, gpus_per_actor=)` joins or starts the cluster and returns a
`RayBackend`, which `measure.run_model` uses as it uses `LocalBackend`:

- `cluster`: connecting (`local`, `auto`, host:port, ray://host:port), pool sizes, one message for Ray's errors;
- `embed`: a Ray Data pipeline per model (an actor pool, the model loaded once per actor), vectors to the driver's
  cache;
- `search`: exact cosine top-k sharded across workers, merged on the driver;
- `speed`: throughput of the actor pool as it grows, latency under concurrent requests sent from the cluster.

Ray is an optional extra (`pip install 'embedwise[ray]'`), imported inside the functions that use it.
"""
from __future__ import annotations

from embedwise.validators.distributed.backend import RayBackend, make_backend

__all__ = ["RayBackend", "make_backend"]

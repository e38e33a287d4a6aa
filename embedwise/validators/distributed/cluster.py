"""Joining or starting the Ray cluster of one run, sizing its actor pools, and turning Ray's errors into one message.

`--ray local` starts a local instance, `--ray auto` joins the cluster this machine belongs to, `--ray host:6379` or
`--ray ray://host:10001` joins that one. Ray is imported here, inside the functions, only when `--ray` is given.
"""
from __future__ import annotations

import logging
import math
import os
import socket
from pathlib import Path

from embedwise.errors import BadInput, ModelRunError

# A worker process that dies (out of memory, a crash) is restarted and its batch retried this many times; past that
# the model's run fails instead of looping on a crash that happens every time.
RESTARTS = 3


def first_line(text: str) -> str:
    lines = [line.strip() for line in str(text).strip().splitlines() if line.strip()]
    return lines[0] if lines else ""


def parse_address(address: str) -> tuple[str, int]:
    host, sep, port = address.removeprefix("ray://").rpartition(":")
    if not sep or not host or not port.isdigit():
        raise BadInput("expected host:port (the head node, port 6379 by default), ray://host:10001 (Ray Client), "
                       "auto (the cluster this machine belongs to), or nothing (a local Ray instance)",
                       f"--ray {address}")
    return host, int(port)


def check_reachable(address: str, where: str, timeout: float = 5.0) -> None:
    """Fail in seconds with a clear message, not after Ray's connection retries (which never end for `auto`)."""
    host, port = parse_address(address)
    try:
        with socket.create_connection((host, port), timeout=timeout):
            pass
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise BadInput(f"no Ray cluster answers at {host}:{port} ({reason}): start one with `ray start --head` or "
                       "check the address", where) from None


def auto_address() -> tuple[str, str] | None:
    """What `auto` stands for, by Ray's rule: RAY_ADDRESS, else the cluster last started on this machine; with where
    it was found. None when neither is there (then Ray says itself that it found no cluster)."""
    if os.environ.get("RAY_ADDRESS"):
        return os.environ["RAY_ADDRESS"], "RAY_ADDRESS"
    current = Path(os.environ.get("RAY_TMPDIR") or "/tmp") / "ray" / "ray_current_cluster"
    try:
        address = current.read_text(encoding="utf-8").strip()
    except OSError:
        return None
    return (address, str(current)) if address else None


def connect(address: str) -> str:
    """Connect this process to Ray: "started" (a local instance this call started), "joined" (a running cluster) or
    "present" (the process was connected already, by a notebook or a test: it is used and left as it is)."""
    where = f"--ray {address}"
    try:
        import ray
    except ImportError:
        raise BadInput("Ray is not installed: pip install 'embedwise[ray]'", where) from None
    if ray.is_initialized():
        quiet_ray_data()
        return "present"
    local = address == "local"
    if address == "auto":
        found = auto_address()
        if found is not None:  # a stale address (a cluster since stopped) would make Ray retry forever
            check_reachable(found[0], f"--ray auto (the address {found[0]} from {found[1]})")
    elif not local:
        check_reachable(address, where)
    if not local:
        use_token_if_present()
    try:
        if local:
            ray.init(address="local", include_dashboard=False, log_to_driver=False, logging_level=logging.ERROR)
        else:
            ray.init(address=address, log_to_driver=False, logging_level=logging.ERROR)
    except Exception as exc:  # noqa: BLE001 - ConnectionError, version mismatch (RuntimeError), bad auth token...
        hint = ""
        if "token" in f"{exc} {exc.__cause__}".lower():
            hint = " (the cluster asks for its authentication token: put it in RAY_AUTH_TOKEN or ~/.ray/auth_token)"
        raise BadInput(f"cannot {'start a local Ray instance' if local else 'join the Ray cluster'}: "
                       f"{type(exc).__name__}: {first_line(str(exc))}{hint}", where) from None
    quiet_ray_data()
    return "started" if local else "joined"


def use_token_if_present() -> None:
    """Join with the authentication token when this machine has one, as `ray start` does when it joins a node (Ray
    2.60's `ray.init` does not): without it a cluster that asks for a token refuses the driver after 20 s of retries.
    `RAY_AUTH_MODE`, when set, decides."""
    if os.environ.get("RAY_AUTH_MODE"):
        return
    if os.environ.get("RAY_AUTH_TOKEN") or os.environ.get("RAY_AUTH_TOKEN_PATH") or \
            (Path.home() / ".ray" / "auth_token").is_file():
        os.environ["RAY_AUTH_MODE"] = "token"


def disconnect(connection: str) -> None:
    """Shut down the instance this run started; for a cluster it joined, only this driver's connection ends."""
    if connection == "present":
        return
    import ray

    ray.shutdown()


def quiet_ray_data() -> None:
    """Ray Data's progress bars and execution logs off (the run draws its own progress); a failure in a batch raises
    the model's own exception, so its message reaches the report instead of Ray's wrapper. The cluster's messages (a
    worker died, a task is retried) go to standard error: Ray prints them on standard output, where `--json` writes
    the report."""
    import ray.data
    from ray._private import worker

    printer = getattr(worker, "print_to_stdstream", None)
    if printer is not None and not getattr(printer, "to_stderr", False):
        def to_stderr(data: dict, ignore_prefix: bool) -> None:
            printer({**data, "is_err": True}, ignore_prefix)

        to_stderr.to_stderr = True  # type: ignore[attr-defined]
        worker.print_to_stdstream = to_stderr

    ctx = ray.data.DataContext.get_current()
    ctx.enable_progress_bars = False
    ctx.print_on_execution_start = False
    ctx.raise_original_map_exception = True
    logging.getLogger("ray.data").setLevel(logging.CRITICAL)


def check_resources(resources: dict, cpus_per_actor: float, gpus_per_actor: float) -> None:
    """An actor the cluster cannot place would wait forever: say so before any model runs."""
    for kind, need, option in (("CPU", cpus_per_actor, "--ray-cpus-per-actor"),
                               ("GPU", gpus_per_actor, "--ray-gpus-per-actor")):
        have = resources.get(kind, 0.0)
        if need > have:
            raise BadInput(f"each actor asks for {need:g} {kind}(s) but the cluster has {have:g} (an autoscaling "
                           "cluster: start one such node first)", option)


def pool_size(resources: dict, actors: int | None, cpus_per_actor: float, gpus_per_actor: float) -> int:
    """Actors per model: `--ray-actors`, else as many as the cluster's CPUs (and GPUs, when each actor takes some)
    allow, at least one."""
    if actors:
        return actors
    fits = [resources.get(kind, 0.0) / need for kind, need in (("CPU", cpus_per_actor), ("GPU", gpus_per_actor))
            if need > 0]
    return max(1, math.floor(min(fits) + 1e-9)) if fits else 1


def model_failure(name: str, exc: BaseException) -> ModelRunError:
    """One clear message for a model that failed on the cluster, never Ray's traceback."""
    from ray.exceptions import RayActorError

    cause = getattr(exc, "cause", None)  # a RayTaskError carries the exception raised in the worker
    if isinstance(cause, ModelRunError):  # Ray Data appends its retry advice on lines of its own
        return ModelRunError(first_line(str(cause)))
    if isinstance(exc, RayActorError):
        return ModelRunError(f"{name}: its Ray actors kept dying (restarted {RESTARTS} times): out of memory or a "
                             "crash; the worker logs in the cluster's session folder say which")
    inner = cause if isinstance(cause, BaseException) else exc
    return ModelRunError(f"{name} failed on the Ray cluster: {type(inner).__name__}: {first_line(str(inner))}")

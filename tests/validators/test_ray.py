"""Validation on Ray: the distributed run gives the local run's metrics, survives a worker that dies, fills the cache a
local re-run reads; the CLI joins a real head node by address, reads a cache a local run filled and reports a model
that fails on every actor as failed; a wrong address, or an actor no node can hold, is refused with exit 2.

One local Ray instance serves the module (Ray starts in about ten seconds here); the head node is a `ray start --head`
process group that the test stops by its id. Ray jobs are few: each one starts actors that import torch.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from validators_helpers import write_beir

from embedwise.errors import BadInput
from embedwise.validators.encoders.local import SentenceTransformerEncoder
from embedwise.validators.load import SpeedConfig

EXE = [sys.executable, "-m", "embedwise.cli"]
RAY = Path(sys.executable).with_name("ray")
QUIET = {"include_bm25": False, "measure_robustness": False, "store": False, "write_files": False}


@pytest.fixture(scope="module")
def ray_local():
    import ray

    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False)
    # The test's own encoder class travels to the workers by value (they cannot import this test module).
    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    yield ray
    ray.shutdown()


@pytest.fixture(scope="module")
def beir(tmp_path_factory) -> Path:
    return write_beir(tmp_path_factory.mktemp("beir") / "beir", extra_docs=150)  # 158 documents: three batches


@pytest.fixture(scope="module")
def local_metrics(beir, tiny_model) -> dict:
    from embedwise.validators.run import validate

    report = validate(beir, models=[str(tiny_model)], use_cache=False, measure_speed=False, **QUIET)
    (run,) = report.runs
    assert run.status == "ok", run.error
    return run.metrics


class DiesOnce(SentenceTransformerEncoder):
    """The tiny model, whose worker process dies at its first batch (the marker file says it happened)."""

    def __init__(self, marker: Path, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.marker = str(marker)

    def _encode(self, texts, prefix, batch_size):
        if not os.path.exists(self.marker):
            Path(self.marker).touch()
            os._exit(1)
        return super()._encode(texts, prefix, batch_size)


def assert_same_metrics(got: dict, want: dict) -> None:
    assert set(got) == set(want)
    for name, value in want.items():
        assert got[name] == pytest.approx(value, abs=1e-6), name


def test_ray_run_gives_the_local_metrics_through_a_worker_death_and_fills_the_cache(ray_local, beir, tiny_model,
                                                                                   local_metrics, tmp_path):
    from embedwise.validators.cache import EmbeddingCache
    from embedwise.validators.distributed import make_backend
    from embedwise.validators.run import validate

    ref = str(tiny_model)
    marker = tmp_path / "a-worker-died"
    cache = EmbeddingCache(tmp_path / "cache.sqlite")
    backend = make_backend("local", actors=2)  # the module's instance: used, not shut down
    speed = SpeedConfig(sample_texts=16, batch_sizes=(8,), concurrency=(1, 4), requests_per_level=8,
                        max_seconds_per_step=10)
    report = validate(beir, models=[ref], cache=cache, backend=backend, speed_config=speed,
                      encoders={ref: DiesOnce(marker, ref, str(tiny_model.resolve()))}, **QUIET)
    backend.close()
    (run,) = report.runs
    assert run.status == "ok", run.error
    assert marker.exists(), "no worker died: the retry path was not exercised"
    assert report.settings["backend"] == "ray"
    assert_same_metrics(run.metrics, local_metrics)
    assert run.cache == {"hits": 0, "misses": 158 + 8}
    assert [t["actors"] for t in run.speed["throughput"]] == [1, 2]
    assert all(t["texts"] >= 16 * t["actors"] and t["docs_per_s"] > 0 for t in run.speed["throughput"])
    assert [(lat["concurrency"], lat["requests"], lat["errors"]) for lat in run.speed["latency"]] == [(1, 8, 0),
                                                                                                      (4, 8, 0)]
    assert run.speed["load_seconds"] > 0 and run.speed["best_docs_per_s"] > 0 and run.info["device"] == "cpu"
    assert ray_local.is_initialized()

    # The vectors the cluster made are in the driver's cache: a local re-run reads every one back.
    again = validate(beir, models=[ref], cache=cache, measure_speed=False, **QUIET)
    (rerun,) = again.runs
    assert rerun.cache == {"hits": 158 + 8, "misses": 0}
    assert_same_metrics(rerun.metrics, local_metrics)
    cache.close()


def test_sharded_search_equals_dense_search(ray_local):
    from embedwise.validators.distributed.search import sharded_search
    from embedwise.validators.metrics import dense_search

    rng = np.random.default_rng(0)
    docs, queries = rng.normal(size=(50, 8)).astype(np.float32), rng.normal(size=(7, 8)).astype(np.float32)
    docs[3] = 0.0  # a zero vector scores 0, as in dense_search
    doc_ids, query_ids = [f"d{i}" for i in range(50)], [f"q{i}" for i in range(7)]
    for top_k in (10, 1000):
        want = dense_search(queries, docs, query_ids, doc_ids, top_k=top_k)
        got = sharded_search(queries, docs, query_ids, doc_ids, shards=3, top_k=top_k)
        assert list(got) == query_ids
        for qid in query_ids:
            assert list(got[qid]) == list(want[qid])  # the same documents, best first
            assert np.allclose(list(got[qid].values()), list(want[qid].values()), atol=1e-6)


def test_the_clusters_messages_go_to_standard_error(ray_local, capsys):
    """Ray prints "a worker died, the task is retried" on standard output, where `--json` writes the report."""
    from ray._private import worker

    from embedwise.validators.distributed import make_backend

    make_backend("local").close()
    worker.print_to_stdstream({"lines": ["a worker died"], "pid": "raylet", "is_err": False}, ignore_prefix=False)
    out, err = capsys.readouterr()
    assert "a worker died" in err and "a worker died" not in out


def test_pool_size_and_resources():
    from embedwise.validators.distributed.cluster import check_resources, pool_size

    assert pool_size({"CPU": 8.0}, None, 1.0, 0.0) == 8
    assert pool_size({"CPU": 8.0, "GPU": 2.0}, None, 1.0, 1.0) == 2
    assert pool_size({"CPU": 8.0, "GPU": 2.0}, None, 1.0, 0.5) == 4
    assert pool_size({"CPU": 1.0}, None, 2.0, 0.0) == 1
    assert pool_size({"CPU": 8.0}, 3, 1.0, 0.0) == 3
    with pytest.raises(BadInput, match="--ray-gpus-per-actor: each actor asks for 1 GPU"):
        check_resources({"CPU": 8.0}, 1.0, 1.0)


# --- the CLI, as a user runs it ----------------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def cli_env(kb_file, embedwise_home) -> dict:
    shutil.copy(kb_file, Path(embedwise_home) / "kb.sqlite")
    return {**os.environ, "EMBEDWISE_HOME": str(embedwise_home), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}


@pytest.fixture
def head_node():
    """A real head node on 127.0.0.1, in its own process group, killed by that group's id afterwards."""
    port = free_port()
    proc = subprocess.Popen([str(RAY), "start", "--head", "--node-ip-address", "127.0.0.1", "--port", str(port),
                             "--num-cpus", "2", "--include-dashboard", "false", "--disable-usage-stats", "--block"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert proc.poll() is None and time.monotonic() < deadline, "the head node did not start"
                time.sleep(0.3)
        yield f"127.0.0.1:{port}"
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # SIGTERM drains for 30 s; the node holds nothing to keep
        proc.wait(timeout=30)


def test_cli_on_a_head_node_reads_the_local_cache_and_reports_a_model_failing_on_every_actor(
        head_node, beir, tiny_model, local_metrics, cli_env, embedwise_home, tmp_path):
    from embedwise.validators.cache import EmbeddingCache
    from embedwise.validators.run import validate

    # A local run fills the embedding cache of the CLI's home: the run on the cluster reads every vector back.
    cache = EmbeddingCache(Path(embedwise_home) / "cache" / "embeddings.sqlite")
    validate(beir, models=[str(tiny_model)], cache=cache, measure_speed=False, **QUIET)
    cache.close()
    broken = tmp_path / "broken-model"
    broken.mkdir()
    (broken / "config.json").write_text('{"model_type": "bert"}')  # no weights: every actor fails to load it
    proc = subprocess.run(EXE + ["validate", "--data", str(beir), "--models", f"{tiny_model},{broken}",
                                 "--ray", head_node, "--no-speed", "--no-robustness", "--no-bm25", "--json",
                                 "--out", str(tmp_path / "out")],
                          env=cli_env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    data = json.loads(proc.stdout)
    assert data["settings"]["backend"] == "ray"
    tiny, failed = data["runs"]
    assert tiny["status"] == "ok", tiny["error"]
    assert tiny["cache"] == {"hits": 158 + 8, "misses": 0}
    assert_same_metrics(tiny["metrics"], local_metrics)  # searched on the head node
    assert failed["status"] == "failed"
    assert failed["error"].startswith(f"could not load {broken}"), failed["error"]
    assert not any(word in failed["error"] for word in ("Traceback", "RayTaskError", "ActorDied", "UDF", "ray.data"))


def test_cli_refuses_a_wrong_address_and_an_actor_no_node_can_hold(beir, cli_env):
    port = free_port()  # nothing listens there
    for ray_args, env, message in (
            (["--ray", f"127.0.0.1:{port}"], {}, f"--ray 127.0.0.1:{port}: no Ray cluster answers"),
            (["--ray", "headnode"], {}, "--ray headnode: expected host:port"),
            # `auto` at a cluster since stopped: Ray would retry for ever
            (["--ray", "auto"], {"RAY_ADDRESS": f"127.0.0.1:{port}"},
             f"--ray auto (the address 127.0.0.1:{port} from RAY_ADDRESS): no Ray cluster answers"),
            # a bare --ray starts a local instance, which has no GPU: stopped before any model, the instance too
            (["--ray-gpus-per-actor", "1", "--ray"], {}, "--ray-gpus-per-actor: each actor asks for 1 GPU(s) but "
                                                         "the cluster has 0")):
        proc = subprocess.run(EXE + ["validate", "--data", str(beir), "--models", "bm25", *ray_args],
                              env={**cli_env, **env}, capture_output=True, text=True, timeout=120)
        assert proc.returncode == 2, proc.stderr
        assert message in proc.stderr and "Traceback" not in proc.stderr, proc.stderr

"""Validation on Ray: the distributed run gives the local run's metrics and fills the cache a local re-run reads; a
worker that dies is retried; the speed test times the pool as it grows; a model that fails on every actor is reported
failed; the CLI joins a real head node by address and reads the cache a local run filled; a wrong address is refused
with exit 2.

One local Ray instance serves the module (Ray starts in about ten seconds here); the head node is a `ray start --head`
process group that the test stops by its id. Jobs with a real model are few: each starts actors that import torch;
the retry, speed and failure tests use an encoder with no model, whose actors start in a second.
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
import zlib
from pathlib import Path

import numpy as np
import pytest
from validators_helpers import write_beir

from embedwise.errors import BadInput, ModelRunError
from embedwise.validators.encoders.base import BaseEncoder
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
def quiet(kb_file) -> dict:
    """validate() without speed, robustness, BM25, files or stored runs, on the session's knowledge base (a test's
    own home would build one for every run)."""
    from embedwise.kb.store import open_db

    db = open_db(kb_file)
    yield {**QUIET, "db": db}
    db.close()


@pytest.fixture(scope="module")
def beir(tmp_path_factory) -> Path:
    return write_beir(tmp_path_factory.mktemp("beir") / "beir", extra_docs=150)  # 158 documents: three batches


@pytest.fixture(scope="module")
def local_metrics(beir, tiny_model, quiet) -> dict:
    from embedwise.validators.run import validate

    report = validate(beir, models=[str(tiny_model)], use_cache=False, measure_speed=False, **quiet)
    (run,) = report.runs
    assert run.status == "ok", run.error
    return run.metrics


class HashedWords(BaseEncoder):
    """A real encoder with no model to load (a text's vector counts its hashed words), so its actors start in a
    second; with a marker path, the worker process running its first batch dies (the marker says it happened)."""

    def __init__(self, marker: Path | None = None):
        super().__init__()
        self.name, self.revision, self.marker = "hashed-words", "1", str(marker) if marker else None

    def _load(self) -> None:
        pass

    def _encode(self, texts, prefix, batch_size):
        if self.marker and not os.path.exists(self.marker):
            Path(self.marker).touch()
            os._exit(1)
        out = np.zeros((len(texts), 16), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in text.split():
                out[row, zlib.crc32(word.encode()) % 16] += 1.0
        return out, None


class CannotLoad(HashedWords):
    """A model whose weights no actor can read."""

    def _load(self) -> None:
        raise ModelRunError("could not load hashed-words: OSError: the weights file is damaged")


def assert_same_metrics(got: dict, want: dict) -> None:
    assert set(got) == set(want)
    for name, value in want.items():
        assert got[name] == pytest.approx(value, abs=1e-6), name


def test_ray_run_gives_the_local_metrics_and_fills_the_cache(ray_local, beir, tiny_model, local_metrics, quiet,
                                                               tmp_path):
    from embedwise.validators.cache import EmbeddingCache
    from embedwise.validators.distributed import make_backend
    from embedwise.validators.run import validate

    ref = str(tiny_model)
    cache = EmbeddingCache(tmp_path / "cache.sqlite")
    backend = make_backend("local", actors=1)  # the module's instance: used, not shut down (two actors: below)
    report = validate(beir, models=[ref], cache=cache, backend=backend, measure_speed=False, **quiet)
    backend.close()
    (run,) = report.runs
    assert run.status == "ok", run.error
    assert report.settings["backend"] == "ray"
    assert_same_metrics(run.metrics, local_metrics)
    assert run.cache == {"hits": 0, "misses": 158 + 8}
    assert ray_local.is_initialized()

    # The vectors the cluster made are in the driver's cache: a local re-run reads every one back.
    again = validate(beir, models=[ref], cache=cache, measure_speed=False, **quiet)
    (rerun,) = again.runs
    assert rerun.cache == {"hits": 158 + 8, "misses": 0}
    assert_same_metrics(rerun.metrics, local_metrics)
    cache.close()


def test_a_worker_that_dies_is_retried_and_the_pool_is_timed_as_it_grows(ray_local, tmp_path):
    from embedwise.validators.distributed import make_backend

    texts = [f"text {i} " + "word " * (i % 7) for i in range(300)]  # three batches: both actors work
    want, want_tokens = HashedWords().embed(texts)
    marker = tmp_path / "a-worker-died"
    backend = make_backend("local", actors=2)
    got, tokens = backend.embed(HashedWords(marker), texts, "document", None)
    assert marker.exists(), "no worker died: the retry path was not exercised"
    assert np.array_equal(got, want) and tokens == want_tokens

    speed = backend.measure_speed(HashedWords(), texts, texts[:8], SpeedConfig(
        sample_texts=16, batch_sizes=(8,), concurrency=(1, 4), requests_per_level=8, max_seconds_per_step=10),
        None, "speed")
    assert [t["actors"] for t in speed["throughput"]] == [1, 2]
    assert all(t["texts"] == 16 * t["actors"] and t["docs_per_s"] > 0 for t in speed["throughput"])
    assert [(lat["concurrency"], lat["requests"], lat["errors"]) for lat in speed["latency"]] == [(1, 8, 0), (4, 8, 0)]
    assert speed["best_docs_per_s"] > 0 and speed["latency_p50_ms"] > 0 and speed["sample_texts"] == 16


def test_a_model_that_fails_on_every_actor_is_reported_failed(ray_local, beir, quiet):
    from embedwise.validators.distributed import make_backend
    from embedwise.validators.run import validate

    report = validate(beir, models=["broken"], encoders={"broken": CannotLoad()}, use_cache=False,
                      measure_speed=False, backend=make_backend("local"), **{**quiet, "include_bm25": True})
    failed, bm25 = report.runs
    assert failed.status == "failed" and bm25.status == "ok"  # the others go on
    assert failed.error == "could not load hashed-words: OSError: the weights file is damaged"


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


# --- the CLI, as a user runs it ---------------------------------------------------------------------------------------

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


def test_cli_joins_a_head_node_by_address_and_reads_the_cache_a_local_run_filled(
        head_node, beir, tiny_model, local_metrics, quiet, cli_env, embedwise_home, tmp_path):
    from embedwise.validators.cache import EmbeddingCache
    from embedwise.validators.run import validate

    cache = EmbeddingCache(Path(embedwise_home) / "cache" / "embeddings.sqlite")  # the CLI's home
    validate(beir, models=[str(tiny_model)], cache=cache, measure_speed=False, **quiet)
    cache.close()
    proc = subprocess.run(EXE + ["validate", "--data", str(beir), "--models", str(tiny_model), "--ray", head_node,
                                 "--no-speed", "--no-robustness", "--no-bm25", "--json",
                                 "--out", str(tmp_path / "out")],
                          env=cli_env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    data = json.loads(proc.stdout)
    assert data["settings"]["backend"] == "ray"
    (run,) = data["runs"]
    assert run["status"] == "ok", run["error"]
    assert run["cache"] == {"hits": 158 + 8, "misses": 0}  # no model loaded anywhere
    assert_same_metrics(run["metrics"], local_metrics)  # searched by tasks on the head node


def test_cli_refuses_a_wrong_address(beir, cli_env):
    port = free_port()  # nothing listens there
    for ray_args, env, message in (
            (["--ray", f"127.0.0.1:{port}"], {}, f"--ray 127.0.0.1:{port}: no Ray cluster answers"),
            (["--ray", "headnode"], {}, "--ray headnode: expected host:port"),
            # `auto` at a cluster since stopped: Ray would retry for ever
            (["--ray", "auto"], {"RAY_ADDRESS": f"127.0.0.1:{port}"},
             f"--ray auto (the address 127.0.0.1:{port} from RAY_ADDRESS): no Ray cluster answers")):
        proc = subprocess.run(EXE + ["validate", "--data", str(beir), "--models", "bm25", *ray_args],
                              env={**cli_env, **env}, capture_output=True, text=True, timeout=120)
        assert proc.returncode == 2, proc.stderr
        assert message in proc.stderr and "Traceback" not in proc.stderr, proc.stderr

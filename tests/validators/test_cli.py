"""`embedwise validate` as a user runs it: JSON on standard output, errors with file:line and exit code 2,
the shortlist of a requirements file as the models."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

EXE = [sys.executable, "-m", "embedwise.cli"]


@pytest.fixture
def env(kb_file, embedwise_home):
    shutil.copy(kb_file, Path(embedwise_home) / "kb.sqlite")
    return {**os.environ, "EMBEDWISE_HOME": str(embedwise_home), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
            "COLUMNS": "120"}


def run(args, env, timeout=300):
    return subprocess.run(EXE + args, env=env, capture_output=True, text=True, timeout=timeout)


def test_json_on_stdout_and_files(beir_dir, tmp_path, env):
    out = tmp_path / "out"
    proc = run(["validate", "--data", str(beir_dir), "--models", "bm25", "--out", str(out), "--json", "--no-speed"], env)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    (entry,) = data["runs"]
    assert {"model", "status", "metrics", "speed", "robustness", "cost"} <= set(entry)
    assert entry["model"] == "bm25" and entry["status"] == "ok" and "ndcg_at_10" in entry["metrics"]
    assert json.loads((out / "report.json").read_text())["run_id"] == data["run_id"]
    assert (out / "report.html").exists() and (out / "report.md").exists()
    # the run is in the knowledge base, where `kb show` can list it
    import sqlite3

    conn = sqlite3.connect(Path(env["EMBEDWISE_HOME"]) / "kb.sqlite")
    assert conn.execute("SELECT count(*) FROM runs WHERE run_id = ?", (data["run_id"],)).fetchone()[0] == 1


def test_terminal_summary(beir_dir, tmp_path, env):
    proc = run(["validate", "--data", str(beir_dir), "--models", "bm25", "--out", str(tmp_path / "o"), "--no-speed"],
               env)
    assert proc.returncode == 0, proc.stderr
    assert "ndcg_at_10" in proc.stdout and "bm25" in proc.stdout and "report.html" in proc.stdout


def test_bad_data_exits_2_with_file_and_line(tmp_path, env):
    folder = tmp_path / "b"
    folder.mkdir()
    (folder / "corpus.jsonl").write_text('{"_id": "d1", "text": "x"}\n')
    (folder / "queries.jsonl").write_text('{"_id": "q1", "text": "x"}\n')
    (folder / "qrels.tsv").write_text("query-id\tcorpus-id\tscore\nq1\td2\t1\n")
    proc = run(["validate", "--data", str(folder), "--models", "bm25"], env)
    assert proc.returncode == 2
    assert f"{folder / 'qrels.tsv'}:2" in proc.stderr and "'d2'" in proc.stderr and "Traceback" not in proc.stderr


def test_usage_errors_exit_2(beir_dir, env):
    proc = run(["validate", "--data", str(beir_dir), "--top", "2"], env)
    assert proc.returncode == 2 and "--requirements" in proc.stderr
    proc = run(["validate", "--data", str(beir_dir)], env)
    assert proc.returncode == 2 and "--models" in proc.stderr
    proc = run(["validate", "--data", str(beir_dir), "--models", "bm25", "--task", "ranking"], env)
    assert proc.returncode == 2 and "unknown task" in proc.stderr


def test_requirements_shortlist_supplies_the_models(beir_dir, tmp_path, env):
    req = tmp_path / "req.yaml"
    req.write_text("task: semantic_search\ndeployment:\n  hosting: self_host\n  hardware: cpu\n"
                   "constraints:\n  max_parameters: 50M\n")
    proc = run(["validate", "--data", str(beir_dir), "--requirements", str(req), "--top", "2", "--json",
                "--no-speed", "--no-robustness", "--out", str(tmp_path / "o")], env)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["shortlist"] and len(data["runs"]) == 3
    assert [r["model"] for r in data["runs"][:2]] == data["shortlist"][:2] and data["runs"][2]["model"] == "bm25"
    # offline, the shortlisted weights cannot be fetched: each is reported as failed, the baseline still runs
    for r in data["runs"][:2]:
        assert r["status"] in ("ok", "failed") and (r["status"] == "ok" or r["error"])
    assert data["runs"][2]["status"] == "ok"
    assert data["settings"]["queries_per_month"] == 10_000 * 30


def test_every_model_failing_exits_non_zero_and_tpu_is_refused(beir_dir, tmp_path, env):
    proc = run(["validate", "--data", str(beir_dir), "--models", str(tmp_path / "no-such-model"), "--no-bm25",
                "--no-speed", "--no-robustness", "--out", str(tmp_path / "o")], env)
    assert proc.returncode != 0 and "every model failed" in proc.stderr, proc.stderr
    proc = run(["validate", "--data", str(beir_dir), "--models", "bm25", "--device", "tpu"], env)
    assert proc.returncode == 2 and "unknown device" in proc.stderr


def test_bad_out_folders_and_hostile_data_are_refused_up_front(beir_dir, tmp_path, env):
    a_file = tmp_path / "a-file"
    a_file.write_text("x")
    proc = run(["validate", "--data", str(beir_dir), "--models", "bm25", "--out", str(a_file)], env)
    assert proc.returncode == 2 and "is a file" in proc.stderr and "Traceback" not in proc.stderr
    folder = tmp_path / "nan"
    shutil.copytree(beir_dir, folder)
    qrels = folder / "qrels.tsv"
    lines = qrels.read_text().splitlines()
    qrels.write_text("\n".join(lines[:1] + [lines[1].rsplit("\t", 1)[0] + "\tnan"] + lines[2:]) + "\n")
    proc = run(["validate", "--data", str(folder), "--models", "bm25"], env)
    assert proc.returncode == 2 and f"{qrels}:2" in proc.stderr and "Traceback" not in proc.stderr
    deep = tmp_path / "deep"
    shutil.copytree(beir_dir, deep)
    (deep / "queries.jsonl").write_text('{"_id": "q1", "text": ' + "[" * 100_000 + "]" * 100_000 + "}\n")
    proc = run(["validate", "--data", str(deep), "--models", "bm25"], env)
    assert proc.returncode == 2 and "queries.jsonl:1" in proc.stderr and "Traceback" not in proc.stderr


def test_a_damaged_embedding_cache_is_set_aside(tmp_path):
    from embedwise.validators.cache import EmbeddingCache

    path = tmp_path / "embeddings.sqlite"
    path.write_bytes(b"this is not a database" * 100)
    cache = EmbeddingCache(path)
    assert cache.reset_note and (tmp_path / "embeddings.sqlite.damaged").exists()
    found, _ = cache.get_many("m", ["a"])
    assert found == {}
    cache.close()


def test_a_local_folder_is_named_by_name_equals_path(beir_dir, tiny_model, tmp_path, env):
    proc = run(["validate", "--data", str(beir_dir), "--models", f"acme/tiny={tiny_model}", "--no-bm25",
                "--no-speed", "--no-robustness", "--json", "--out", str(tmp_path / "o")], env)
    assert proc.returncode == 0, proc.stderr
    (entry,) = json.loads(proc.stdout)["runs"]
    assert entry["model"] == "acme/tiny" and str(tiny_model) not in entry["model"]

"""What a new user trips over: every usage error and hostile input gets a clear message and the documented exit code,
through the real `embedwise` process."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

EMBEDWISE = [sys.executable, "-m", "embedwise.cli"]


def run(*args: str, home: Path, timeout: float = 60) -> subprocess.CompletedProcess:
    env = {**os.environ, "EMBEDWISE_HOME": str(home), "HF_HUB_OFFLINE": "1"}
    return subprocess.run([*EMBEDWISE, *args], capture_output=True, text=True, timeout=timeout, env=env)


def alias_bomb() -> str:
    text, prev = "a: &a [x, x, x, x, x, x, x, x, x]\n", "a"
    for i in range(1, 10):
        name = chr(97 + i)
        text += f"{name}: &{name} [" + ", ".join([f"*{prev}"] * 9) + "]\n"
        prev = name
    return text


FILES = {
    "evil_tag.yaml": "task: !evil rag\n",
    "python_tag.yaml": 'task: !!python/object/apply:os.system ["echo pwned"]\n',
    "bomb.yaml": alias_bomb(),
    "contradictory.yaml": "deployment:\n  hosting: api\n  on_device: true\n  data_must_stay_on_premises: true\n"
                          "data:\n  cross_lingual: true\n",
    "loose.yaml": "constraints: {max_dimensions: true}\ndata: {documents: true}\nlicense: {commercial_use: 0}\n"
                  "deployment: {queries_per_day: \"100\"}\n",
}

CASES = [
    # (args, exit code, text that must appear in the output)
    (["recomend"], 2, "No such command"),
    (["recommend"], 2, "Missing option"),
    (["kb", "query", "--bogus"], 2, "No such option"),
    (["recommend", "-r", "{dir}/evil_tag.yaml", "--top", "abc"], 2, "Invalid value"),
    (["validate", "--data", "{dir}", "--top", "0"], 2, "Invalid value"),
    (["recommend", "-r", "{dir}/evil_tag.yaml"], 2, "unsupported YAML tag '!evil'"),
    (["requirements", "check", "{dir}/python_tag.yaml"], 2, "unsupported YAML tag"),
    (["requirements", "check", "{dir}/bomb.yaml"], 2, "expands to more than"),
    (["requirements", "check", "{dir}/loose.yaml"], 2, "loose.yaml:3: license.commercial_use"),
    (["requirements", "check", "{dir}/contradictory.yaml"], 2, "contradictory.yaml:6: data.cross_lingual"),
    (["requirements", "check", "{dir}/contradictory.yaml"], 2, "contradictory.yaml:3: deployment.on_device"),
    (["kb", "query", "params>99999999999999999999"], 2, "too large"),
    (["kb", "query", " ".join(["modality=text"] * 1001)], 2, "at most"),
    (["kb", "show", "nobody/nothing"], 2, "no model 'nobody/nothing'"),
    (["recommend", "-r", "{dir}/ok.yaml", "--why", "nobody/nothing"], 2, "no model"),
    (["requirements", "template", "--output", "{dir}/ok.yaml"], 2, "--force"),
    (["--version"], 0, "embedwise "),
]


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    d = tmp_path_factory.mktemp("first_hour")
    for name, text in FILES.items():
        (d / name).write_text(text)
    (d / "ok.yaml").write_text("task: rag\n")
    home = d / "home"
    home.mkdir()
    return d, home


@pytest.mark.parametrize("args, code, text", CASES, ids=[" ".join(c[0])[:40] for c in CASES])
def test_usage_errors_get_a_clear_message(workdir, args, code, text):
    d, home = workdir
    r = run(*(a.replace("{dir}", str(d)) for a in args), home=home)
    out = r.stdout + r.stderr
    assert r.returncode == code, out
    assert text in out, out
    assert "Traceback" not in out


def test_like_wildcards_in_user_text_are_literal(workdir):
    from embedwise.kb.query import compile_query

    q = compile_query("name~_")
    assert "ESCAPE" in q.sql and q.params[0] == "%\\_%"


def readme_commands(prefix: str) -> list[str]:
    import re

    text = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    blocks = re.findall(r"```(?:bash|console)\n(.*?)```", text, re.S)
    return [line.split("  #")[0].strip() for block in blocks for line in block.splitlines()
            if line.strip().startswith(prefix)]


@pytest.mark.parametrize("command", readme_commands("embedwise kb query"))
def test_readme_query_examples_run_as_written_in_a_shell(workdir, command):
    d, home = workdir
    bin_dir = Path(sys.executable).parent
    env = {**os.environ, "EMBEDWISE_HOME": str(home), "PATH": f"{bin_dir}:{os.environ['PATH']}",
           "HF_HUB_OFFLINE": "1"}
    r = subprocess.run(["bash", "-c", command], capture_output=True, text=True, timeout=120, env=env, cwd=d)
    assert r.returncode == 0, r.stdout + r.stderr
    assert not any(p.name in ("1B", "1024", "0.05") for p in d.iterdir()), "the shell redirected part of the query"


def test_a_home_that_is_a_file_is_a_clear_error(tmp_path):
    home = tmp_path / "home-file"
    home.write_text("not a folder")
    r = run("kb", "query", "limit=1", home=home)
    assert r.returncode == 2 and "is a file" in r.stderr and "Traceback" not in r.stderr


def test_a_damaged_knowledge_base_is_rebuilt_and_kept_aside(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    assert run("kb", "build", home=home).returncode == 0
    kb = home / "kb.sqlite"
    kb.write_bytes(kb.read_bytes()[:5000])  # truncated
    r = run("kb", "query", "modality=text limit=1", home=home)
    assert r.returncode == 0 and "damaged" in r.stderr and "Traceback" not in r.stderr
    assert list(home.glob("kb.sqlite.damaged-*"))
    assert run("kb", "show", "BAAI/bge-m3", home=home).returncode == 0


def test_odd_entries_in_a_curated_folder_are_not_read_as_data(tmp_path):
    import shutil

    from embedwise.kb.curated_files import default_curated_dir, load_curated

    folder = tmp_path / "curated"
    shutil.copytree(default_curated_dir(), folder)
    (folder / "a-folder.yaml").mkdir()
    (folder / "loop.yaml").symlink_to(folder / "loop.yaml")
    (folder / "null.yaml").symlink_to("/dev/null")
    assert len(load_curated(folder)) >= 400


def test_an_infinite_request_timeout_is_refused(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    (home / "sync.toml").write_text("request_timeout = inf\n")
    r = run("sync", "--endpoint", "http://127.0.0.1:9", home=home)
    assert r.returncode == 2 and "request_timeout" in (r.stdout + r.stderr) and "Traceback" not in r.stderr


def test_a_query_that_returns_nothing_names_the_term(workdir):
    d, home = workdir
    r = run("kb", "query", "modality=text released<1990", home=home)
    assert r.returncode == 0 and "'released<1990' removed the last candidates" in r.stdout


def test_a_read_only_home_still_answers_queries(tmp_path, monkeypatch):
    """Root bypasses permissions here, so the read-only folder is simulated where the store asks for it."""
    from embedwise.kb import store
    from embedwise.kb.query import search

    monkeypatch.setenv("EMBEDWISE_HOME", str(tmp_path))
    store.build(tmp_path / "kb.sqlite")
    before = sorted(p.name for p in tmp_path.iterdir())
    monkeypatch.setattr(store, "_writable", lambda folder: False)
    db = store.open_db()
    assert search(db, "modality=text limit=3")
    assert sorted(p.name for p in tmp_path.iterdir()) == before, "nothing may be written in a read-only home"

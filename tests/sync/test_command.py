"""`embedwise sync`: the command, --nightly (lock, log file, exit codes), the token, the configuration file, and a
process killed mid-run."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from sync_helpers import CLIP, GONE, MINILM, assert_history_complete, converges, curated_snapshot, fast_config
from fake_hub import FakeHub, make_model
from typer.testing import CliRunner

from embedwise import paths
from embedwise.cli import app
from embedwise.errors import BadInput, SyncError
from embedwise.kb import store, sync

REPO = Path(__file__).resolve().parents[2]


def write_config(text: str) -> Path:
    path = paths.home() / "sync.toml"
    path.write_text(text)
    return path


FAST_TOML = """request_timeout = 0.5
max_retries = 2
backoff_base = 0.01
backoff_max = 0.05
batch_size = 3
[discover]
min_downloads = 1000
top_by_downloads = 6
top_trending = 3
"""


def test_cli_sync_json(kb_path, hub):
    write_config(FAST_TOML)
    r = CliRunner().invoke(app, ["sync", "--endpoint", hub.url, "--json"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert out["status"] == "ok" and out["discovered"] == 7 and out["endpoint"] == hub.url
    assert {(f["model_id"], f["flag"]) for f in out["flags"]} == {(GONE, "removed")}

    r = CliRunner().invoke(app, ["sync", "--endpoint", hub.url, "--no-discover"])
    assert r.exit_code == 0, r.output
    assert "0 changes" in r.stdout and "ok" in r.stdout


def test_endpoint_from_hf_endpoint(kb_path, hub, monkeypatch):
    write_config(FAST_TOML)
    monkeypatch.setenv("HF_ENDPOINT", hub.url)
    assert sync.command(json_out=True) == 0
    assert hub.requests("list")


def test_failed_run_exits_nonzero(kb_path, capsys):
    write_config(FAST_TOML)
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    assert sync.command(endpoint=f"http://127.0.0.1:{port}", nightly=True) == 1
    out = capsys.readouterr()
    assert "failed" in out.out
    assert ": failed: " in out.err and "sync.log" in out.err  # one line for cron's mail
    log = (paths.logs_dir() / "sync.log").read_text()
    assert "ConnectError" in log


def test_partial_run_exits_nonzero(kb_path, hub):
    write_config(FAST_TOML)
    hub.fault("cut_json", on="info", match=lambda i: i["repo_id"] == CLIP, times=-1)
    assert sync.command(endpoint=hub.url, nightly=True) == 1
    hub.clear_faults()
    assert sync.command(endpoint=hub.url, nightly=True) == 0


def test_nightly_takes_the_lock_and_logs_to_a_file(kb_path, hub):
    from filelock import FileLock

    write_config(FAST_TOML)
    with FileLock(str(paths.home() / "sync.lock")):
        with pytest.raises(SyncError, match="another `embedwise sync` is running"):
            sync.command(endpoint=hub.url, nightly=True)
    assert not hub.requests()  # nothing was asked of the hub
    db = store.open_db(kb_path, build_if_missing=False)
    assert db["sync_runs"].count == 0
    assert sync.command(endpoint=hub.url, nightly=True) == 0
    log = (paths.logs_dir() / "sync.log").read_text()
    run_id = db.execute("SELECT id FROM sync_runs").fetchone()[0]
    assert f"sync {run_id}: ok" in log and "another sync holds" in log


def test_token_is_sent_but_never_logged_or_stored(kb_path, hub, monkeypatch):
    secret = "hf_testSECRETtoken1234567890"
    monkeypatch.setenv("HF_TOKEN", secret)
    write_config(FAST_TOML)
    hub.fault("500", on="list", times=1)  # a retry is logged: with the URL, never the header
    assert sync.command(endpoint=hub.url, nightly=True, json_out=True) == 0
    assert {r.authorization for r in hub.requests()} == {f"Bearer {secret}"}
    assert secret not in (paths.logs_dir() / "sync.log").read_text()
    db = store.open_db(kb_path, build_if_missing=False)
    assert secret not in "\n".join(db.conn.iterdump())


def test_credentials_in_the_endpoint_are_not_stored(kb_path, hub):
    host = hub.url.split("//")[1]
    s = sync.run(fast_config(), endpoint=f"http://user:pw@{host}")
    assert s.endpoint == f"http://{host}"
    db = store.open_db(kb_path, build_if_missing=False)
    assert "pw@" not in "\n".join(db.conn.iterdump())


def test_offline_mode_is_refused(kb_path, hub, monkeypatch):
    import huggingface_hub.constants as c

    monkeypatch.setattr(c, "HF_HUB_OFFLINE", True)
    with pytest.raises(SyncError, match="HF_HUB_OFFLINE"):
        sync.run(fast_config(), endpoint=hub.url)


def test_configuration_file(kb_path, hub):
    assert sync.load_config() == sync.SyncConfig()  # no file: defaults
    write_config(FAST_TOML.replace("min_downloads = 1000", "min_downloads = 1000000000\ntrending_min_likes = 41"))
    cfg = sync.load_config()
    assert cfg.discover.min_downloads == 10**9 and cfg.request_timeout == 0.5
    assert sync.command(endpoint=hub.url) == 0
    db = store.open_db(kb_path, build_if_missing=False)
    assert db["models"].count_where("status = 'discovered'") == 0

    write_config("request_timeout = 'soon'\n")
    with pytest.raises(BadInput, match="request_timeout"):
        sync.load_config()
    write_config("[discover]\nmin_downlods = 5\n")
    with pytest.raises(BadInput, match="min_downlods"):
        sync.load_config()
    write_config("request_timeout = \n")
    with pytest.raises(BadInput, match="not valid TOML"):
        sync.load_config()


def test_kb_show_helpers_without_a_sync(db):
    assert sync.flags_for(db, MINILM) == [] and sync.conflicts_for(db, MINILM) == []
    assert sync.hub_facts_for(db, MINILM) is None


# --- a process killed mid-run ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("where", ["listing", "refresh"])
def test_killed_mid_run_then_rerun_converges(where, kb_path, tmp_path):
    """SIGKILL while a request hangs, after some batches were written; the KB is consistent, the rerun finishes."""
    write_config("request_timeout = 30\nworkers = 1\nbatch_size = 1\nbackoff_base = 0.01\n"
                 "[discover]\nmin_downloads = 1000\ntop_by_downloads = 6\ntop_trending = 3\n")
    from sync_helpers import hub_models

    with FakeHub(page_size=2) as hub:
        hub.add(*hub_models())
        hub.add(*[make_model(f"org/bulk-{i}", downloads=2000 + i, last_modified="2024-06-01T00:00:00.000Z")
                  for i in range(10)])
        if where == "listing":  # page 4 of the lastModified listing: MINILM and NOMIC (newer) are written by then
            match = lambda i: i["page"] == 4 and i["query"].get("sort") == ["lastModified"]  # noqa: E731
            hang = hub.fault("hang", on="list", match=match, times=1, delay=120)
        else:  # the second model read one by one (the first was written)
            hang = hub.fault("hang", on="info", match=lambda i: i["repo_id"] == CLIP, times=1, delay=120)
        db = store.open_db(kb_path, build_if_missing=False)
        before = curated_snapshot(db)
        env = {**os.environ, "EMBEDWISE_HOME": str(paths.home()), "PYTHONPATH": str(REPO)}
        for var in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_TOKEN", "HF_ENDPOINT"):
            env.pop(var, None)
        proc = subprocess.Popen([sys.executable, "-m", "embedwise.cli", "sync", "--endpoint", hub.url, "--nightly"],
                                env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            assert hub.wait_for(lambda log: any(r.outcome == "hang" for r in log) or proc.poll() is not None,
                                timeout=120) and proc.poll() is None, \
                proc.communicate(timeout=5)
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=30)
        assert hang.hits == 1
        hub.clear_faults()

        # consistent: integrity, curated facts, history; the killed run is still marked running
        assert curated_snapshot(db) == before
        assert_history_complete(db)
        written = {r[0] for r in db.execute("SELECT model_id FROM hub_facts")}
        assert MINILM in written if where == "listing" else GONE in written
        (run_id, status), = db.execute("SELECT id, status FROM sync_runs").fetchall()
        assert status == "running"

        hub.log.clear()
        s = sync.run(sync.load_config(), db=db, endpoint=hub.url)
        assert s.status == "ok", sync.format_summary(s)
        assert db["sync_runs"].get(run_id)["status"] == "interrupted"
        if where == "refresh":  # resumed: what the killed run read is not read again
            assert f"/api/models/{GONE}" not in {r.path for r in hub.requests("info")}
        assert curated_snapshot(db) == before
        converges(db, hub, sync.load_config())
        assert db["models"].count_where("id LIKE 'org/bulk-%'") == 10

"""Faults injected into the fake hub. After each: no curated fact changed, the history is complete, and a rerun
converges to the state a fault-free sync reaches (and a run after that changes nothing)."""
from __future__ import annotations

import json
import socket

import pytest
from sync_helpers import (CLIP, GONE, MINILM, assert_history_complete, converges, curated_records, curated_snapshot,
                      fast_config, make_kb)

from embedwise.kb import store, sync
from embedwise.kb.sync import runner
from embedwise.kb.sync.hub import HubUnavailable


def recent_page(n: int, tag: str = "sentence-similarity"):
    return lambda i: i["page"] == n and i["query"].get("sort") == ["lastModified"] and \
        i["query"].get("pipeline_tag") == [tag]


def kb_state(db) -> dict:
    """Everything the sync maintains, without run ids and timestamps."""
    facts = []
    for r in db.query("SELECT * FROM hub_facts ORDER BY model_id"):
        r = {k: v for k, v in r.items() if k not in ("synced_at", "run_id")}
        r["flags"] = [{k: v for k, v in f.items() if k != "run_id"} for f in json.loads(r["flags"])]
        facts.append(r)
    return {
        "hub_facts": facts,
        "models": list(db.query("SELECT * FROM models ORDER BY id")),
        "sources": [tuple(r) for r in db.execute("SELECT * FROM sources ORDER BY model_id, field")],
        "languages": [tuple(r) for r in db.execute("SELECT * FROM model_languages ORDER BY 1, 2")],
        "conflicts": [tuple(r) for r in db.execute(
            "SELECT model_id, field, curated, hub FROM conflicts WHERE resolved = 0 ORDER BY 1, 2")],
    }


@pytest.fixture
def reference(tmp_path, hub, cfg):
    """The state a fault-free sync reaches from the same KB against the same hub."""
    path = tmp_path / "reference.sqlite"
    make_kb(path, curated_records())
    ref = store.open_db(path, build_if_missing=False)
    assert sync.run(cfg, db=ref, endpoint=hub.url).status == "ok"
    state = kb_state(ref)
    ref.close()
    hub.log.clear()
    return state


FAULTS = {
    # absorbed by the retries: the run is ok
    "429 on a list page, Retry-After honoured": (dict(action="429", on="list", times=2, retry_after="1"), "ok"),
    "429 on model_info": (dict(action="429", on="info", times=1, retry_after="2"), "ok"),
    "500 on the second page": (dict(action="500", on="list", match=recent_page(1), times=2), "ok"),
    "503 on model_info": (dict(action="503", on="info", times=2, retry_after=None), "ok"),
    "slow list page (timeout)": (dict(action="slow", on="list", times=1, delay=1.5), "ok"),
    "slow model_info (timeout)": (dict(action="slow", on="info", times=1, delay=1.5), "ok"),
    "malformed JSON once": (dict(action="malformed", on="list", match=recent_page(1), times=1), "ok"),
    "page cut short once": (dict(action="truncated", on="list", match=recent_page(1), times=1), "ok"),
    "JSON cut in half once": (dict(action="cut_json", on="info", match=lambda i: i["repo_id"] == CLIP, times=1),
                              "ok"),
    "connection dropped once": (dict(action="drop", on="list", times=1), "ok"),
    # persistent: logged and skipped, never written; the run is partial
    "malformed JSON on every try of page 2": (
        dict(action="malformed", on="list", match=recent_page(1), times=-1), "partial"),
    "page cut short on every try": (dict(action="truncated", on="list", match=recent_page(0, "feature-extraction"),
                                         times=-1), "partial"),
    "one model's answer always cut short": (
        dict(action="cut_json", on="info", match=lambda i: i["repo_id"] == CLIP, times=-1), "partial"),
    "an item with a malformed field": (dict(action="bad_item", on="list", match=recent_page(0), times=1), "partial"),
    "a Link header that points back at the same page": (
        dict(action="loop", on="list", match=recent_page(0), times=-1), "partial"),
    # the hub is gone: the run fails, what was complete is kept
    "network gone mid-run": (dict(action="drop", times=-1, skip=3), "failed"),
    "500 on every try": (dict(action="500", on="info", times=-1), "failed"),
    "rate limited for an hour": (dict(action="429", on="list", times=-1, retry_after="3600"), "failed"),
}


@pytest.mark.parametrize("name", list(FAULTS))
def test_fault(name, db, hub, cfg, reference, sync_env):
    fault, expected = FAULTS[name]
    before = curated_snapshot(db)
    f = hub.fault(**fault)
    s = sync.run(cfg, db=db, endpoint=hub.url)
    assert f.hits >= 1, "the fault was never injected"
    assert s.status == expected, sync.format_summary(s)
    assert curated_snapshot(db) == before
    assert_history_complete(db)
    assert db.execute("SELECT count(*) FROM hub_facts WHERE typeof(downloads) NOT IN ('integer', 'null') "
                      "OR typeof(likes) NOT IN ('integer', 'null')").fetchone()[0] == 0
    assert db.execute("SELECT count(*) FROM models WHERE typeof(downloads) NOT IN ('integer', 'null')"
                      ).fetchone()[0] == 0
    run = db["sync_runs"].get(s.run_id)
    assert run["status"] == expected and run["finished_at"]
    if expected == "ok":
        assert s.retries >= 1 and not s.skipped
    elif expected == "partial":
        assert s.skipped and run["error"]
    else:
        assert s.error and run["error"] == s.error
    if fault.get("retry_after") in ("1", "2"):
        assert float(fault["retry_after"]) in sync_env  # the wait the hub asked for, not our backoff
    if name.startswith("malformed JSON on every"):
        # the listing did not complete: its watermark stays unset, so the next run reads it again
        assert "watermark:recent:sentence-similarity:*" not in {r[0] for r in db.execute("SELECT key FROM sync_state")}

    hub.clear_faults()
    converges(db, hub, cfg)
    assert curated_snapshot(db) == before
    assert kb_state(db) == reference


def test_nothing_listening(db, cfg):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    before = curated_snapshot(db)
    summary = sync.run(cfg, db=db, endpoint=f"http://127.0.0.1:{port}")
    assert summary.status == "failed" and "ConnectError" in summary.error
    assert curated_snapshot(db) == before
    assert db["history"].count == 0 and db["hub_facts"].count == 0


@pytest.mark.parametrize("where", ["listing", "refresh", "discovery"])
def test_interrupted_at_any_point_in_process(where, db, hub, cfg, reference, monkeypatch):
    """A KeyboardInterrupt (SIGTERM under --nightly) in the middle of comparing a model: nothing half written."""
    before = curated_snapshot(db)
    calls = {"n": 0}
    target = {"listing": "_refresh", "refresh": "_fetch", "discovery": "_add_discovered"}[where]
    original = getattr(runner._Run, target)

    def boom(self, *a, **kw):
        calls["n"] += 1
        if calls["n"] == {"listing": 3, "refresh": 2, "discovery": 3}[where]:
            if where == "listing":
                self.ops.history.append(("half", "hub.sha", None, "x", self.at, self.run_id))  # a half-done model
            raise KeyboardInterrupt
        return original(self, *a, **kw)

    monkeypatch.setattr(runner._Run, target, boom)
    s = sync.run(cfg, db=db, endpoint=hub.url)
    assert s.status == "interrupted"
    assert db.execute("SELECT count(*) FROM history WHERE model_id = 'half'").fetchone()[0] == 0
    assert curated_snapshot(db) == before
    assert_history_complete(db)
    monkeypatch.setattr(runner._Run, target, original)
    converges(db, hub, cfg)
    assert kb_state(db) == reference


def test_failed_run_is_resumed(db, hub, cfg):
    """The hub goes away during the one-by-one reads; the next run does not read again what the failed run read."""
    hub.fault("drop", on="info", times=-1, match=lambda i: i["repo_id"] == CLIP)
    s = sync.run(fast_config(workers=1, batch_size=1), db=db, endpoint=hub.url)
    assert s.status == "failed"
    done = {r[0] for r in db.execute("SELECT model_id FROM hub_facts")}
    assert GONE in done and MINILM in done and CLIP not in done
    hub.clear_faults()
    hub.log.clear()
    s = sync.run(cfg, db=db, endpoint=hub.url)
    assert s.status == "ok"
    read = {r.path for r in hub.requests("info")}
    assert read == {f"/api/models/{CLIP}"}  # GONE was read by the failed run: not again
    converges(db, hub, cfg)


def test_transport_gives_up_with_our_errors_not_httpx_ones():
    """huggingface_hub retries httpx timeouts and network errors itself; ours must not be among them."""
    import httpx2

    from embedwise.kb.sync.hub import HubBadAnswer

    assert not issubclass(HubUnavailable, (httpx2.TimeoutException, httpx2.NetworkError, httpx2.RemoteProtocolError))
    assert not issubclass(HubBadAnswer, (httpx2.TimeoutException, httpx2.NetworkError, httpx2.RemoteProtocolError))


def test_a_looping_listing_is_read_once(db, hub, cfg, sync_env):
    hub.fault(action="loop", on="list", match=recent_page(0), times=-1)
    s = sync.run(cfg, db=db, endpoint=hub.url)
    assert s.status == "partial" and any("repeated a page" in x["error"] for x in s.skipped)
    looped = [r for r in hub.requests("list") if r.outcome == "loop"]
    assert len(looped) <= 3, f"{len(looped)} requests for the same page"

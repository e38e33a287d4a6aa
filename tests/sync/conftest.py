"""Fixtures for the hub sync tests: a fake hub on 127.0.0.1, a small curated knowledge base, fast settings.

Helpers live in sync_helpers.py (import them from there, not from conftest)."""
from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from fake_hub import FakeHub  # noqa: E402
from sync_helpers import curated_records, fast_config, hub_models, make_kb  # noqa: E402

from embedwise.kb import store, sync  # noqa: E402
from embedwise.kb.sync import hub as sync_hub  # noqa: E402


@pytest.fixture(autouse=True)
def sync_env(tmp_path, monkeypatch):
    """EMBEDWISE_HOME in tmp; no token, no HF_ENDPOINT, online; retry waits recorded and shortened."""
    monkeypatch.setenv("EMBEDWISE_HOME", str(tmp_path / "home"))
    for var in ("HF_TOKEN", "HF_ENDPOINT"):
        monkeypatch.delenv(var, raising=False)
    import huggingface_hub.constants as hf_constants

    monkeypatch.setattr(hf_constants, "HF_HUB_OFFLINE", False)
    waits: list[float] = []

    def record(seconds: float) -> None:
        waits.append(seconds)
        time.sleep(min(seconds, 0.02))

    monkeypatch.setattr(sync_hub, "_sleep", record)
    return waits


@pytest.fixture
def hub():
    with FakeHub(page_size=4) as h:
        h.add(*hub_models())
        yield h


@pytest.fixture
def kb_path(tmp_path):
    """A knowledge base at paths.kb_path() holding the curated test records (stamped current, so never rebuilt)."""
    from embedwise import paths

    path = paths.kb_path()
    make_kb(path, curated_records())
    return path


@pytest.fixture
def db(kb_path):
    d = store.open_db(kb_path, build_if_missing=False)
    yield d
    d.close()


@pytest.fixture
def cfg() -> sync.SyncConfig:
    return fast_config()



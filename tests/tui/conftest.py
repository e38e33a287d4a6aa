"""Fixtures for the TUI tests: a small fixed knowledge base, a fixed shortlist, and helpers to drive the app."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from tui_helpers import _wait_for, fake_shortlist  # noqa: E402

DATA = Path(__file__).parent / "data"


@pytest.fixture
def fixture_kb(tmp_path) -> Path:
    """A knowledge base built from tests/tui/data/curated: the same rows whatever the shipped data says."""
    from embedwise.kb import store

    path = tmp_path / "kb.sqlite"
    store.build(path, curated_dir=DATA / "curated")
    return path


@pytest.fixture
def shortlist_view():
    return fake_shortlist()


@pytest.fixture
def anyio_backend():
    """The tests are `async def` run by anyio's pytest plugin on asyncio (textual's loop)."""
    return "asyncio"


@pytest.fixture
def wait_for():
    return _wait_for

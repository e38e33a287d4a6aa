"""Engine test fixtures: the real curated knowledge base, built once per session."""
from __future__ import annotations

from pathlib import Path

import pytest
import sqlite_utils

from embedwise.kb import store


@pytest.fixture(scope="session")
def curated_kb(tmp_path_factory) -> Path:
    """The shipped curated knowledge base, built once for the session into its own folder."""
    path = tmp_path_factory.mktemp("curated_kb") / "kb.sqlite"
    store.build(path)
    return path


@pytest.fixture
def curated_db(curated_kb) -> sqlite_utils.Database:
    return store.open_db(curated_kb, build_if_missing=False)

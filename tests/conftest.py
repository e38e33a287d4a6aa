"""Shared fixtures: every test gets its own EMBEDWISE_HOME and no network to the hub."""
from __future__ import annotations

import os

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


@pytest.fixture(autouse=True)
def embedwise_home(tmp_path_factory, monkeypatch):
    home = tmp_path_factory.mktemp("embedwise_home")
    monkeypatch.setenv("EMBEDWISE_HOME", str(home))
    return home

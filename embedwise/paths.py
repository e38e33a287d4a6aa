"""Where embedwise keeps its data: the platformdirs user data dir, or EMBEDWISE_HOME when set."""
from __future__ import annotations

import os
from pathlib import Path


def home() -> Path:
    override = os.environ.get("EMBEDWISE_HOME")
    if override:
        path = Path(override).expanduser()
    else:
        import platformdirs

        path = Path(platformdirs.user_data_dir("embedwise", appauthor=False))
    path.mkdir(parents=True, exist_ok=True)
    return path


def kb_path() -> Path:
    return home() / "kb.sqlite"


def cache_dir() -> Path:
    path = home() / "cache"
    path.mkdir(parents=True, exist_ok=True)
    return path


def reports_dir() -> Path:
    path = home() / "reports"
    path.mkdir(parents=True, exist_ok=True)
    return path


def logs_dir() -> Path:
    path = home() / "logs"
    path.mkdir(parents=True, exist_ok=True)
    return path

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
    if path.exists() and not path.is_dir():
        from embedwise.errors import BadInput

        raise BadInput("the embedwise home is a file, not a folder: point EMBEDWISE_HOME at a folder", str(path))
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        from embedwise.errors import BadInput

        raise BadInput(f"cannot create the embedwise home ({exc.strerror}): set EMBEDWISE_HOME to a writable "
                       "folder", str(path)) from None
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

from __future__ import annotations

from pathlib import Path

import pytest

from kb_helpers import write_curated


@pytest.fixture
def curated_dir(tmp_path) -> Path:
    return write_curated(tmp_path / "curated")

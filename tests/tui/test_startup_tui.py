"""The app starts light: the first question shows without importing the engine's rule runtime, torch or
sentence-transformers (they load inside workers when first used)."""
from __future__ import annotations

import subprocess
import sys

HEAVY = ("torch", "sentence_transformers", "transformers", "durable", "rules", "sqlite_utils",
         "embedwise.engine", "embedwise.validators")

PROBE = """
import asyncio, sys
from embedwise.tui.app import EmbedwiseApp
from embedwise.tui.screens.steps import TaskStep

async def main():
    app = EmbedwiseApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, TaskStep)
        print(" ".join(sorted(sys.modules)))

asyncio.run(main())
"""


def test_first_question_without_heavy_imports():
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=120, check=True)
    loaded = set(out.stdout.split())
    heavy = {m for m in loaded if any(m == h or m.startswith(h + ".") for h in HEAVY)}
    assert not heavy, sorted(heavy)

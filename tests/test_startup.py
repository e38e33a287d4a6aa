"""Startup: the CLI, the knowledge base commands and the engine never import torch, sentence-transformers or Ray."""
from __future__ import annotations

import subprocess
import sys

HEAVY = ("torch", "sentence_transformers", "transformers", "ray")  # Ray only with --ray


def modules_after(code: str) -> set[str]:
    probe = code + "\nimport sys\nprint(' '.join(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=True)
    return set(out.stdout.split())


def test_cli_help_and_kb_query_stay_light():
    loaded = modules_after(
        "from typer.testing import CliRunner\n"
        "from embedwise.cli import app\n"
        "r = CliRunner().invoke(app, ['--help']); assert r.exit_code == 0, r.output\n"
        "r = CliRunner().invoke(app, ['kb', 'query', 'modality=text', 'limit=3', '--json']); assert r.exit_code == 0, r.output\n"
    )
    assert not loaded & set(HEAVY), loaded & set(HEAVY)

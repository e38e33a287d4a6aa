"""`embedwise tui` is a thin call into the app; the app also works at sizes other than 80×24."""
from __future__ import annotations

import pytest
from typer.testing import CliRunner

from embedwise.cli import app as cli_app


def test_tui_command_passes_the_requirements_file(monkeypatch, tmp_path):
    calls = []
    monkeypatch.setattr("embedwise.tui.app.run_app", lambda requirements=None: calls.append(requirements))
    path = tmp_path / "req.yaml"
    path.write_text("task: rag\n")
    result = CliRunner().invoke(cli_app, ["tui", "--requirements", str(path)])
    assert result.exit_code == 0, result.output
    assert calls == [path]
    result = CliRunner().invoke(cli_app, ["tui", "--help"])
    assert result.exit_code == 0 and "--requirements" in result.output


@pytest.mark.anyio
@pytest.mark.parametrize("size", [(120, 40), (200, 60)])
async def test_larger_terminals(size, shortlist_view):
    from embedwise.tui.app import EmbedwiseApp

    app = EmbedwiseApp()
    async with app.run_test(size=size) as pilot:
        for _ in range(5):
            await pilot.press("ctrl+n")
            await pilot.pause()
        assert type(app.screen).__name__ == "SummaryStep"
        app.shortlist = shortlist_view
        app.action_shortlist()
        await pilot.pause()
        await pilot.press("x", "a", "r")
        await pilot.pause()
        assert type(app.screen).__name__ == "ShortlistScreen"

"""The shortlist screen: ranked models with their breakdown, "why not X?", advice, picking models to validate."""
from __future__ import annotations

import pytest
from textual.widgets import DataTable, Input, Static, TabbedContent

from embedwise.tui.app import EmbedwiseApp
from embedwise.tui.screens.shortlist import ShortlistScreen

pytestmark = pytest.mark.anyio


def text_of(screen, selector: str) -> str:
    from tui_helpers import plain

    return plain(screen.query_one(selector, Static))


async def open_shortlist(pilot, view):
    app = pilot.app
    app.shortlist = view
    app.action_shortlist()
    await pilot.pause()
    assert isinstance(app.screen, ShortlistScreen)
    return app.screen


async def test_ranked_table_and_breakdown(shortlist_view):
    app = EmbedwiseApp()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_shortlist(pilot, shortlist_view)
        table = screen.query_one("#ranked-table", DataTable)
        assert table.row_count == 2
        assert table.get_row_at(0)[2] == "acme/tiny-en"
        detail = text_of(screen, "#ranked-why")
        assert "#1 tiny-en" in detail and "rank-retrieval" in detail and "MTEB retrieval 41.0" in detail
        await pilot.press("down")
        await pilot.pause()
        detail = text_of(screen, "#ranked-why")
        assert "#2 acme embed API" in detail and "api-cost" in detail


async def test_why_not_names_every_reason(shortlist_view):
    app = EmbedwiseApp()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_shortlist(pilot, shortlist_view)
        await pilot.press("x")
        await pilot.pause()
        assert screen.query_one(TabbedContent).active == "excluded"
        assert app.focused is screen.query_one("#why-not", Input)
        await pilot.press(*"big-multi")
        await pilot.pause()
        detail = text_of(screen, "#excluded-why")
        assert "acme/big-multi is excluded" in detail
        assert "CC-BY-NC-4.0 forbids commercial use" in detail and "7B parameters are too slow" in detail
        assert screen.query_one("#excluded-table", DataTable).row_count == 1
        screen.query_one("#why-not", Input).value = "tiny-en"
        await pilot.pause()
        assert "shortlisted at #1" in text_of(screen, "#excluded-why")
        screen.query_one("#why-not", Input).value = "nobody/knows"
        await pilot.pause()
        assert "not in the knowledge base" in text_of(screen, "#excluded-why")


async def test_advice_tab(shortlist_view):
    app = EmbedwiseApp()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_shortlist(pilot, shortlist_view)
        await pilot.press("a")
        await pilot.pause()
        assert screen.query_one(TabbedContent).active == "advice"
        assert "hybrid search helps exact terms" in screen._advice_markdown()


async def test_pick_models_then_validate(shortlist_view):
    app = EmbedwiseApp()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_shortlist(pilot, shortlist_view)
        await pilot.press("down", "space")
        await pilot.pause()
        assert app.picked == ["acme/embed-api"]
        assert screen.query_one("#ranked-table", DataTable).get_row_at(1)[0] == "✓"
        await pilot.press("v")
        await pilot.pause()
        from embedwise.tui.screens.validate import ValidateScreen

        assert isinstance(app.screen, ValidateScreen)
        assert app.screen.selected_models() == ["acme/embed-api"]
        await pilot.press("escape", "escape")
        await pilot.pause()
        assert type(app.screen).__name__ == "TaskStep"


async def test_empty_shortlist_says_what_to_relax():
    from embedwise.tui.backend import normalise_shortlist

    view = normalise_shortlist({
        "shortlist": [], "excluded": [{"id": "a/b", "reasons": [{"rule": "gpu-memory", "text": "needs 40 GB"}]}],
        "advice": [],
        "relaxation": {"best": {"relax": "deployment.gpu_memory_gb", "rules": ["gpu-memory"], "brings_back": 1,
                                "models": ["a/b"]},
                       "excluded_by": [{"rule": "gpu-memory", "relax": "deployment.gpu_memory_gb", "excludes": 1}]},
    })
    app = EmbedwiseApp()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_shortlist(pilot, view)
        assert "No model satisfies every requirement" in text_of(screen, "#ranked-why")
        md = screen._advice_markdown()
        assert "deployment.gpu_memory_gb: brings back 1 model(s), e.g. a/b" in md

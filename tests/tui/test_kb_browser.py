"""The knowledge base browser: the `kb query` language, free text, inline query errors, every fact with its source."""
from __future__ import annotations

import pytest
from textual.widgets import DataTable, Input, Static

from tui_helpers import plain
from embedwise.tui.app import EmbedwiseApp
from embedwise.tui.screens.kb import KnowledgeBaseScreen, ModelDetailScreen

pytestmark = pytest.mark.anyio


def ids(screen) -> list[str]:
    table = screen.query_one("#kb-table", DataTable)
    return [str(key.value) for key in table.rows]


async def query(pilot, wait_for, text: str) -> None:
    screen = pilot.app.screen
    screen.query_one("#kb-query", Input).value = text
    await wait_for(pilot, lambda: screen.expression == text and not any(
        w.is_running for w in pilot.app.workers if w.group == "kb-query"))


async def test_query_language_and_free_text(fixture_kb, wait_for):
    app = EmbedwiseApp(kb_path=fixture_kb)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("f3")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, KnowledgeBaseScreen)
        await wait_for(pilot, lambda: len(ids(screen)) == 4)
        await query(pilot, wait_for, "modality=text commercial_use")
        assert sorted(ids(screen)) == ["acme/embed-api", "acme/tiny-en"]
        await query(pilot, wait_for, "lang=deu")
        assert ids(screen) == ["acme/big-multi"]
        await query(pilot, wait_for, "params<1B sort=params")
        assert ids(screen) == ["acme/tiny-en", "acme/clip-small"]
        await query(pilot, wait_for, "legal")
        assert ids(screen) == ["acme/big-multi"]


async def test_malformed_query_is_shown_inline_with_its_position(fixture_kb, wait_for):
    app = EmbedwiseApp(kb_path=fixture_kb)
    async with app.run_test(size=(80, 24)) as pilot:
        app.action_kb()
        await pilot.pause()
        screen = app.screen
        await wait_for(pilot, lambda: len(ids(screen)) == 4)
        await query(pilot, wait_for, "modality=text params<lots")
        status = plain(screen.query_one("#kb-status", Static))
        assert "✗" in status and "modality=text params<lots" in status
        caret_line = status.splitlines()[-1]
        assert caret_line.index("^") == "modality=text params<lots".index("params")  \
            or caret_line.index("^") == "modality=text params<lots".index("lots")
        assert screen.query_one("#kb-query", Input).has_class("-invalid")
        assert len(ids(screen)) == 4, "a bad query keeps the last good results"
        await query(pilot, wait_for, "modality=text")
        assert not screen.query_one("#kb-query", Input).has_class("-invalid")


async def test_detail_shows_every_fact_with_its_source(fixture_kb, wait_for):
    app = EmbedwiseApp(kb_path=fixture_kb)
    async with app.run_test(size=(80, 24)) as pilot:
        app.action_kb()
        await pilot.pause()
        screen = app.screen
        await query(pilot, wait_for, "tiny")
        assert ids(screen) == ["acme/tiny-en"]
        await pilot.press("enter")  # from the query to the table
        await pilot.press("enter")  # open the row
        await pilot.pause()
        detail = app.screen
        assert isinstance(detail, ModelDetailScreen)
        facts = detail.query_one("#facts-table", DataTable)
        await wait_for(pilot, lambda: facts.row_count > 0)
        rows = {facts.get_row_at(i)[0]: facts.get_row_at(i) for i in range(facts.row_count)}
        assert rows["license"][1] == "Apache-2.0"
        assert rows["license"][2] == "https://example.org/tiny-en (2026-01-01)"
        assert rows["parameters"][1] == "22000000"
        scores = detail.query_one("#scores-table", DataTable)
        assert scores.row_count == 2
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is screen

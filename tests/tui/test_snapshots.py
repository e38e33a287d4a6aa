"""SVG snapshots of the main screens at 80×24 (pytest-textual-snapshot). Update with `pytest --snapshot-update`.

Every snapshot uses fixed data (the questionnaire's defaults, tests/tui/data/curated, a fixed shortlist and a fixed
validation report) and stops the cursor blinking, so the pictures do not change from run to run.
"""
from __future__ import annotations

from textual.widgets import Input

from tui_helpers import fake_shortlist
from embedwise.tui.app import EmbedwiseApp
from embedwise.tui.backend import normalise_report

SIZE = (80, 24)


async def settle(pilot) -> None:
    """Wait for workers, then freeze the cursor so the picture does not depend on timing."""
    app = pilot.app
    for _ in range(200):
        await pilot.pause(0.02)
        if not any(w.is_running for w in app.workers):
            break
    for widget in app.screen.query(Input):
        widget.cursor_blink = False
    await pilot.pause()


def test_task_step(snap_compare):
    async def run_before(pilot):
        await settle(pilot)

    assert snap_compare(EmbedwiseApp(), terminal_size=SIZE, run_before=run_before)


def test_data_step_with_an_invalid_answer(snap_compare):
    async def run_before(pilot):
        await pilot.press("ctrl+n")
        await pilot.pause()
        field = pilot.app.screen.query_one("#c-f-data-languages", Input)
        field.focus()
        field.value = "en, xx9"
        await pilot.press("ctrl+n")  # refused
        await settle(pilot)

    assert snap_compare(EmbedwiseApp(), terminal_size=SIZE, run_before=run_before)


def test_summary(snap_compare):

    async def run_before(pilot):
        pilot.app.goto_step(5)
        await settle(pilot)

    assert snap_compare(EmbedwiseApp(), terminal_size=SIZE, run_before=run_before)


def test_shortlist(snap_compare):
    async def run_before(pilot):
        pilot.app.shortlist = fake_shortlist()
        pilot.app.action_shortlist()
        await settle(pilot)

    assert snap_compare(EmbedwiseApp(), terminal_size=SIZE, run_before=run_before)


def test_shortlist_why_not(snap_compare):
    async def run_before(pilot):
        pilot.app.shortlist = fake_shortlist()
        pilot.app.action_shortlist()
        await pilot.pause()
        await pilot.press("x", *"big")
        await settle(pilot)

    assert snap_compare(EmbedwiseApp(), terminal_size=SIZE, run_before=run_before)


def test_knowledge_base(snap_compare, fixture_kb):
    async def run_before(pilot):
        await pilot.press("f3")
        await settle(pilot)

    assert snap_compare(EmbedwiseApp(kb_path=fixture_kb), terminal_size=SIZE, run_before=run_before)


def test_model_detail(snap_compare, fixture_kb):
    async def run_before(pilot):
        from embedwise.tui.screens.kb import ModelDetailScreen

        pilot.app.push_screen(ModelDetailScreen("acme/big-multi"))
        await settle(pilot)

    assert snap_compare(EmbedwiseApp(kb_path=fixture_kb), terminal_size=SIZE, run_before=run_before)


def test_help(snap_compare):
    assert snap_compare(EmbedwiseApp(), terminal_size=SIZE, press=["f1"])


FIXED_REPORT = {
    "task": "retrieval",
    "report_path": "/reports/2026-01-01/report.html",
    "runs": [
        {"model": "acme/tiny-en", "status": "ok", "metrics": {"ndcg_at_10": 0.6123, "recall_at_100": 0.91},
         "speed": {"latency_ms": {"c1": {"p50": 4.0, "p95": 6.5, "p99": 9.0}}, "docs_per_s": 850.0},
         "robustness": {}, "cost": {}},
        {"model": "acme/big-multi", "status": "ok", "metrics": {"ndcg_at_10": 0.7012},
         "speed": {"latency_ms": {"c1": {"p50": 40.0, "p95": 55.0, "p99": 70.0}}, "docs_per_s": 60.0},
         "robustness": {}, "cost": {}},
        {"model": "bm25", "status": "ok", "metrics": {"ndcg_at_10": 0.5501},
         "speed": {"latency_ms": {"c1": {"p95": 1.2}}, "docs_per_s": 5000.0}, "robustness": {}, "cost": {}},
    ],
}


def test_validate_results_and_chart(snap_compare):
    async def run_before(pilot):
        pilot.app.action_validate()
        await pilot.pause()
        pilot.app.screen.show_results(normalise_report(FIXED_REPORT))
        await settle(pilot)

    assert snap_compare(EmbedwiseApp(), terminal_size=SIZE, run_before=run_before)


def test_validate_chart_tab(snap_compare):
    async def run_before(pilot):
        from textual.widgets import TabbedContent

        pilot.app.action_validate()
        await pilot.pause()
        pilot.app.screen.show_results(normalise_report(FIXED_REPORT))
        await pilot.pause()
        pilot.app.screen.query_one(TabbedContent).active = "chart"
        await settle(pilot)

    assert snap_compare(EmbedwiseApp(), terminal_size=SIZE, run_before=run_before)

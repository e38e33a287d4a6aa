"""The questionnaire driven headless with the Pilot: steps, inline validation, back navigation, save and load."""
from __future__ import annotations

import pytest
from textual.widgets import Checkbox, Input, Select, Static

from embedwise.tui import state
from embedwise.tui.app import EmbedwiseApp
from embedwise.tui.screens.steps import DataStep, EvaluationStep, IntegrationStep, ModelsStep, SummaryStep, TaskStep
from embedwise.tui.widgets import FieldRow

pytestmark = pytest.mark.anyio


def hint(app, path: str) -> str:
    row = app.screen.query_one("#" + state.FIELDS[path].widget_id, FieldRow)
    return str(row.query_one(".field-hint", Static).render())


async def type_into(pilot, path: str, text: str) -> None:
    app = pilot.app
    control = app.screen.query_one("#c-" + state.FIELDS[path].widget_id, Input)
    control.focus()
    await pilot.pause()
    control.value = ""
    await pilot.press(*text) if text else None
    await pilot.pause()


async def test_first_screen_is_the_first_question():
    app = EmbedwiseApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, TaskStep)
        assert app.focused is app.screen.query_one("#c-f-task", Select)


async def test_every_step_in_order_then_back(tmp_path):
    app = EmbedwiseApp()
    async with app.run_test(size=(80, 24)) as pilot:
        order = [TaskStep, DataStep, ModelsStep, EvaluationStep, IntegrationStep, SummaryStep]
        for expected in order[1:]:
            await pilot.press("ctrl+n")
            await pilot.pause()
            assert isinstance(app.screen, expected)
        for expected in reversed(order[:-1]):
            await pilot.press("escape")
            await pilot.pause()
            assert isinstance(app.screen, expected)
        await pilot.press("escape")  # nothing before the first step
        await pilot.pause()
        assert isinstance(app.screen, TaskStep)


async def test_back_navigation_keeps_the_answers():
    app = EmbedwiseApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await type_into(pilot, "deployment.queries_per_day", "250k")
        await pilot.press("ctrl+n")
        await pilot.pause()
        await type_into(pilot, "data.languages", "de, fr")
        app.screen.query_one("#c-f-data-keyword_heavy", Checkbox).focus()
        await pilot.press("space")
        await pilot.pause()
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, TaskStep)
        assert app.screen.query_one("#c-f-deployment-queries_per_day", Input).value == "250000"
        await pilot.click("#next")  # the mouse works as well as the keys
        await pilot.pause()
        assert isinstance(app.screen, DataStep)
        assert app.screen.query_one("#c-f-data-languages", Input).value == "de, fr"
        assert app.screen.query_one("#c-f-data-keyword_heavy", Checkbox).value is True
        assert app.answers["deployment"]["queries_per_day"] == 250_000
        assert app.answers["data"]["languages"] == ["de", "fr"]
        assert app.answers["data"]["keyword_heavy"] is True


@pytest.mark.parametrize("path, text, message", [
    ("deployment.queries_per_day", "lots", "is not a number"),
    ("deployment.queries_per_day", "-5", "at least 0"),
    ("data.documents", "1.5", "whole number"),
    ("budget.monthly_usd", "12abc", "is not a number"),
])
async def test_invalid_numbers_are_refused_inline(path, text, message):
    app = EmbedwiseApp()
    async with app.run_test(size=(80, 24)) as pilot:
        before = state.get(app.answers, path)
        await type_into(pilot, path, text)
        assert message in hint(app, path)
        row = app.screen.query_one("#" + state.FIELDS[path].widget_id, FieldRow)
        assert row.has_class("-invalid")
        await pilot.press("ctrl+n")
        await pilot.pause()
        assert isinstance(app.screen, TaskStep), "Next must refuse while an answer is invalid"
        assert app.focused is row.control
        assert "1 answer to fix" in str(app.screen.query_one("#nav-status", Static).render())
        assert state.get(app.answers, path) == before, "an invalid answer must not be stored"
        await type_into(pilot, path, "42")
        assert not row.has_class("-invalid")
        await pilot.press("ctrl+n")
        await pilot.pause()
        assert isinstance(app.screen, DataStep)


async def test_unknown_language_code_is_refused_inline():
    app = EmbedwiseApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("ctrl+n")
        await pilot.pause()
        await type_into(pilot, "data.languages", "en, klingonx")
        assert "unknown language code 'klingonx'" in hint(app, "data.languages")
        await pilot.press("ctrl+n")
        await pilot.pause()
        assert isinstance(app.screen, DataStep)


async def test_latency_must_be_positive_and_empty_means_no_limit():
    app = EmbedwiseApp()
    async with app.run_test(size=(80, 24)) as pilot:
        app.goto_step(4)
        await pilot.pause()
        await type_into(pilot, "deployment.latency_p95_ms", "0")
        assert "more than 0" in hint(app, "deployment.latency_p95_ms")
        await type_into(pilot, "deployment.latency_p95_ms", "")
        assert app.answers["deployment"]["latency_p95_ms"] is None
        await type_into(pilot, "constraints.max_parameters", "1.5B")
        assert app.answers["constraints"]["max_parameters"] == 1_500_000_000


async def test_missing_data_path_is_refused():
    app = EmbedwiseApp()
    async with app.run_test(size=(80, 24)) as pilot:
        app.goto_step(3)
        await pilot.pause()
        await type_into(pilot, "evaluation.data_path", "/no/such/folder")
        assert "no such file or folder" in hint(app, "evaluation.data_path")


async def test_summary_lists_the_answers_and_flags_contradictions(wait_for):
    app = EmbedwiseApp()
    app.answers["deployment"]["hosting"] = "api"
    app.answers["deployment"]["data_must_stay_on_premises"] = True
    async with app.run_test(size=(80, 24)) as pilot:
        app.goto_step(5)
        await pilot.pause()
        check = app.screen.query_one("#summary-check", Static)
        await wait_for(pilot, lambda: "Checking" not in str(check.render()))
        assert "contradictory" in str(check.render())
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, IntegrationStep)


async def test_save_then_load_the_requirements_yaml(tmp_path, monkeypatch, wait_for):
    from embedwise.engine.requirements import load_requirements

    monkeypatch.chdir(tmp_path)
    app = EmbedwiseApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await type_into(pilot, "deployment.queries_per_day", "5000")
        await pilot.press("ctrl+s")
        await pilot.pause()
        dialog_input = app.screen.query_one("#dialog-path", Input)
        dialog_input.value = str(tmp_path / "req.yaml")
        await pilot.press("enter")
        await pilot.pause()
        saved = tmp_path / "req.yaml"
        assert saved.is_file()
        req = load_requirements(saved)  # the same file the CLI takes
        assert req.deployment.queries_per_day == 5000
        assert req.evaluation.top == 3 and "evaluation:" in saved.read_text()  # the evaluation step is saved too

        await type_into(pilot, "deployment.queries_per_day", "7")
        assert app.answers["deployment"]["queries_per_day"] == 7
        await pilot.press("ctrl+o")
        await pilot.pause()
        app.screen.query_one("#dialog-path", Input).value = str(saved)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, TaskStep)
                       and app.screen.query_one("#c-f-deployment-queries_per_day", Input).value == "5000")
        assert app.answers["deployment"]["queries_per_day"] == 5000


async def test_loading_a_bad_file_shows_the_error_in_the_dialog(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("task: semantic_search\ndata:\n  modality: text\n  colour: blue\n")
    app = EmbedwiseApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("ctrl+o")
        await pilot.pause()
        app.screen.query_one("#dialog-path", Input).value = str(bad)
        await pilot.press("enter")
        await pilot.pause()
        error = str(app.screen.query_one("#dialog-error", Static).render())
        assert "colour" in error and "bad.yaml:4" in error
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, TaskStep)


async def test_starting_from_a_requirements_file(tmp_path, wait_for):
    path = tmp_path / "req.yaml"
    path.write_text(
        "task: rag\n"
        "data:\n  languages: [de, en]\n  domain: biomedical\n"
        "deployment:\n  hosting: self_host\n  hardware: cpu\n  gpu_memory_gb: null\n"
        "constraints:\n  max_parameters: 500M\n")
    app = EmbedwiseApp(requirements=path)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.answers["task"] == "rag")
        await pilot.pause()
        assert app.screen.query_one("#c-f-task", Select).value == "rag"
        await pilot.press("ctrl+n")
        await pilot.pause()
        assert app.screen.query_one("#c-f-data-languages", Input).value == "deu, eng"
        # a domain the list does not offer is kept, not silently replaced
        assert app.screen.query_one("#c-f-data-domain", Select).value == "biomedical"
        assert app.answers["constraints"]["max_parameters"] == 500_000_000
        assert app.answers["deployment"]["gpu_memory_gb"] is None


async def test_step_bar_jumps_back_with_the_mouse():
    app = EmbedwiseApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("ctrl+n", "ctrl+n")
        await pilot.pause()
        assert isinstance(app.screen, ModelsStep)
        await pilot.click("#stepbar", offset=(3, 0))  # "✓ Task"
        await pilot.pause()
        assert isinstance(app.screen, TaskStep)


async def test_help_screen_and_command_palette(wait_for):
    app = EmbedwiseApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("f1")
        await pilot.pause()
        assert type(app.screen).__name__ == "HelpScreen"
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, TaskStep)
        titles = [c.title for c in app.get_system_commands(app.screen)]
        for wanted in ("Rank models", "Save requirements", "Load requirements", "Knowledge base",
                       "Validate on my data", "Step 2: Your data"):
            assert wanted in titles
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"Step 2")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, DataStep))

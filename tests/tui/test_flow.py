"""The whole questionnaire, by keyboard, to a shortlist from the real engine over the shipped knowledge base; the
top model is then checked against the answers with its facts read straight from the knowledge base."""
from __future__ import annotations

import pytest
from textual.widgets import Input, Select

from embedwise.tui.app import EmbedwiseApp
from embedwise.tui.screens.shortlist import ShortlistScreen
from embedwise.tui.screens.steps import DataStep, EvaluationStep, IntegrationStep, ModelsStep, SummaryStep, TaskStep

pytestmark = pytest.mark.anyio


async def choose(pilot, select_id: str, value: str) -> None:
    """Pick an option of a Select with the keyboard: open it, move to the option, Enter."""
    select = pilot.app.screen.query_one(f"#{select_id}", Select)
    select.focus()
    await pilot.pause()
    values = [v for _, v in select._options]
    steps = values.index(value) - values.index(select.value)
    await pilot.press("enter")
    await pilot.pause()
    await pilot.press(*(["down"] * steps if steps > 0 else ["up"] * -steps))
    await pilot.press("enter")
    await pilot.pause()
    assert select.value == value


async def type_in(pilot, input_id: str, text: str) -> None:
    field = pilot.app.screen.query_one(f"#{input_id}", Input)
    field.focus()
    await pilot.pause()
    await pilot.press("ctrl+a")  # Input: home
    await pilot.press("ctrl+k")  # delete to the end
    if text:
        await pilot.press(*text)
    await pilot.pause()
    assert field.value == text


async def test_questionnaire_to_a_shortlist_whose_top_model_fits(wait_for):
    app = EmbedwiseApp()
    async with app.run_test(size=(80, 24)) as pilot:
        assert isinstance(app.screen, TaskStep)
        await choose(pilot, "c-f-task", "rag")
        await choose(pilot, "c-f-budget-priority", "accuracy")
        await type_in(pilot, "c-f-deployment-queries_per_day", "20000")
        await type_in(pilot, "c-f-data-documents", "500000")
        await pilot.press("ctrl+n")
        await pilot.pause()

        assert isinstance(app.screen, DataStep)
        await type_in(pilot, "c-f-data-languages", "de")
        await choose(pilot, "c-f-data-domain", "general")
        await pilot.press("ctrl+n")
        await pilot.pause()

        assert isinstance(app.screen, ModelsStep)
        await choose(pilot, "c-f-deployment-hosting", "self_host")
        await pilot.press("ctrl+n")
        await pilot.pause()

        assert isinstance(app.screen, EvaluationStep)
        await pilot.press("ctrl+n")
        await pilot.pause()

        assert isinstance(app.screen, IntegrationStep)
        await choose(pilot, "c-f-deployment-hardware", "cpu")
        await type_in(pilot, "c-f-deployment-gpu_memory_gb", "")
        await type_in(pilot, "c-f-constraints-max_parameters", "1B")
        await pilot.press("ctrl+n")
        await pilot.pause()

        assert isinstance(app.screen, SummaryStep)
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: isinstance(app.screen, ShortlistScreen), timeout=300)

        answers = app.answers
        assert answers["task"] == "rag" and answers["data"]["languages"] == ["de"]
        assert answers["deployment"]["hosting"] == "self_host" and answers["deployment"]["hardware"] == "cpu"
        assert answers["constraints"]["max_parameters"] == 1_000_000_000
        view = app.shortlist
        assert view is not None and view.candidates, "the engine found no model for common requirements"

        from embedwise.kb.store import get_record, open_db

        top = get_record(open_db(), view.candidates[0].id)
        assert top.commercial_use
        assert top.open_weights and top.hosting in ("self_host", "both")
        assert top.modality in ("text", "multimodal") and "text" in top.input_modalities
        assert top.parameters is not None and top.parameters <= 1_000_000_000
        assert "deu" in top.languages

        # every excluded model carries a reason the user can read
        assert all(e.reasons and all(text for _, text in e.reasons) for e in view.excluded)

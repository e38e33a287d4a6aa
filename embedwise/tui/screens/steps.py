"""The questionnaire: one screen per step of choosing a model, then a summary that runs the engine."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.markup import escape
from rich.table import Table
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import Button, Footer, Header, Static

from embedwise.tui import state
from embedwise.tui.widgets import FieldRow, StepBar

if TYPE_CHECKING:
    from embedwise.tui.session import Session


class StepScreen(Screen):
    """A step of the questionnaire. Answers are written into `app.answers` as soon as they are valid."""

    INDEX = 0
    BINDINGS = [
        Binding("ctrl+n", "next", "Next", priority=True),
        Binding("escape", "back", "Back"),
    ]

    app: "Session"

    @property
    def step(self) -> state.Step:
        return state.STEPS[self.INDEX]

    def compose(self) -> ComposeResult:
        yield Header()
        yield StepBar(self.INDEX)
        yield Static(f"[b]{self.INDEX + 1}. {self.step.title}[/b]  [dim]{self.step.intro}[/dim]", id="step-title")
        with VerticalScroll(id="form"):
            yield from self.compose_body()
        with Horizontal(id="nav"):
            yield from self.compose_buttons()
        yield Footer(compact=True, show_command_palette=False)

    def compose_body(self) -> ComposeResult:
        for f in self.step.fields:
            yield FieldRow(f, state.get(self.app.answers, f.path))

    def compose_buttons(self) -> ComposeResult:
        yield Button("◀ Back", id="back", compact=True, disabled=self.INDEX == 0)
        yield Static("", id="nav-status")
        yield Button("Next ▶", id="next", variant="primary", compact=True)

    def on_mount(self) -> None:
        self.sub_title = f"step {self.INDEX + 1} of {len(state.STEPS)}: {self.step.title}"
        rows = list(self.query(FieldRow))
        if rows:
            rows[0].control.focus()

    def on_field_row_answered(self, event: FieldRow.Answered) -> None:
        state.put(self.app.answers, event.path, event.value)
        self._update_status()

    def _update_status(self) -> None:
        bad = [r for r in self.query(FieldRow) if r.error]
        self.query_one("#nav-status", Static).update(
            f"[b red]✗ {len(bad)} answer{'s' if len(bad) > 1 else ''} to fix[/]" if bad else "")

    def validate_all(self) -> bool:
        """Check every answer on this step; focus the first bad one. False when one is invalid."""
        bad = [r for r in self.query(FieldRow) if not r.check()]
        self._update_status()
        if bad:
            bad[0].control.focus()
            bad[0].scroll_visible()
            return False
        return True

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "next":
            event.stop()
            self.action_next()
        elif event.button.id == "back":
            event.stop()
            self.action_back()

    def action_next(self) -> None:
        if self.validate_all():
            self.app.goto_step(self.INDEX + 1)

    def action_back(self) -> None:
        if self.INDEX > 0:
            self.app.goto_step(self.INDEX - 1, check=False)


class TaskStep(StepScreen):
    INDEX = 0


class DataStep(StepScreen):
    INDEX = 1


class ModelsStep(StepScreen):
    INDEX = 2


class EvaluationStep(StepScreen):
    INDEX = 3


class IntegrationStep(StepScreen):
    INDEX = 4


class SummaryStep(StepScreen):
    """Every answer in one table, checked by the engine's own Requirements model; save, load, run."""

    INDEX = 5
    BINDINGS = [
        Binding("escape", "back", "Back"),
        Binding("ctrl+n", "app.recommend", "Run", priority=True, show=False),
    ]

    def compose_body(self) -> ComposeResult:
        yield Static("[dim]Checking the answers…[/]", id="summary-check")
        yield Static(self._table(), id="summary-table")

    def compose_buttons(self) -> ComposeResult:
        yield Button("◀ Back", id="back", compact=True)
        yield Button("Save…", id="save", compact=True)
        yield Button("Load…", id="load", compact=True)
        yield Static("", id="nav-status")
        yield Button("Rank models ▶", id="run", variant="primary", compact=True)

    def on_mount(self) -> None:
        self.sub_title = f"step {self.INDEX + 1} of {len(state.STEPS)}: {self.step.title}"
        self.query_one("#run", Button).focus()
        self.check_requirements()

    def refresh_answers(self) -> None:
        self.query_one("#summary-table", Static).update(self._table())
        self.check_requirements()

    def _table(self) -> Table:
        answers = self.app.answers
        table = Table(box=None, show_header=False, pad_edge=False, expand=True)
        table.add_column("question", style="dim", no_wrap=True, width=24)
        table.add_column("answer", ratio=1)
        for i, step in enumerate(state.STEPS[:-1]):
            table.add_row(f"[b]{i + 1}. {StepBar.SHORT[i]}[/b]", f"[b]{step.title}[/b]")
            for f in step.fields:
                table.add_row(f"  {f.label}", state.display(f, state.get(answers, f.path)))
        return table

    @work(exclusive=True, group="check")
    async def check_requirements(self) -> None:
        import asyncio

        from embedwise.errors import EmbedwiseError
        from embedwise.tui import backend

        status = self.query_one("#summary-check", Static)
        try:
            await asyncio.to_thread(backend.build_requirements, self.app.answers)
        except ImportError:
            status.update("[dim]The rules engine is not installed: the answers cannot be checked yet.[/]")
        except EmbedwiseError as exc:
            status.update(f"[b red]✗ {escape(str(exc))}[/]")
        except Exception as exc:  # noqa: BLE001
            status.update(f"[b red]✗ {escape(type(exc).__name__)}: {escape(str(exc))}[/]")
        else:
            status.update("[green]✓ The answers make a valid requirements file.[/] "
                          "[dim]Ctrl+S saves it; Ctrl+R ranks the models.[/]")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        actions: dict[str | None, Any] = {"back": self.action_back, "save": self.app.action_save,
                                          "load": self.app.action_load, "run": self.app.action_recommend}
        action = actions.get(event.button.id)
        if action:
            action()

    def action_next(self) -> None:
        self.app.action_recommend()

    def set_running(self, running: bool, message: str = "") -> None:
        self.query_one("#run", Button).disabled = running
        self.query_one("#nav-status", Static).update(message)


STEP_SCREENS: tuple[type[StepScreen], ...] = (TaskStep, DataStep, ModelsStep, EvaluationStep, IntegrationStep,
                                              SummaryStep)

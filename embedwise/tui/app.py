"""`embedwise tui`: the questionnaire, the shortlist, the knowledge base browser and the validators in one app.

Startup imports textual and the questionnaire's own data only; the engine, the knowledge base and the validators are
imported inside workers when first used, so the first question shows at once.
"""
from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Iterable

from textual import work
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.screen import Screen

from embedwise.tui import state
from embedwise.tui.backend import ShortlistView, ValidationView
from embedwise.tui.screens.steps import STEP_SCREENS, StepScreen, SummaryStep


class EmbedwiseApp(App):
    CSS_PATH = "embedwise.tcss"
    TITLE = "embedwise"
    SUB_TITLE = "choose an embedding model"
    BINDINGS = [
        Binding("f1", "help", "Help"),
        Binding("ctrl+r", "recommend", "Rank"),
        Binding("ctrl+s", "save", "Save"),
        Binding("ctrl+o", "load", "Load"),
        Binding("f3", "kb", "KB"),
        Binding("f4", "shortlist", "Shortlist", show=False),
        Binding("f5", "validate", "Validate"),
        Binding("ctrl+q", "quit", "Quit", priority=True, show=False),  # standard; listed in help (f1)
    ]

    def __init__(self, requirements: Path | None = None, kb_path: Path | None = None,
                 answers: dict | None = None) -> None:
        super().__init__()
        self.kb_path = Path(kb_path) if kb_path else None
        self.answers: dict = answers if answers is not None else state.default_answers()
        self.requirements_path: Path | None = Path(requirements) if requirements else None
        self.shortlist: ShortlistView | None = None
        self.picked: list[str] = []
        self.last_validation: ValidationView | None = None
        self.validate_options: dict = {}  # extra keyword arguments for validators.choose.choose (speed settings…)
        self.step_index = 0

    # --- startup --------------------------------------------------------------------------------------------------

    def on_mount(self) -> None:
        self.push_screen(STEP_SCREENS[0]())
        if self.requirements_path is not None:
            self._load_into_answers(str(self.requirements_path), notify=True)

    # --- questionnaire navigation -----------------------------------------------------------------------------------

    def goto_step(self, index: int, check: bool = True) -> None:
        index = max(0, min(index, len(STEP_SCREENS) - 1))
        current = self.screen
        if check and isinstance(current, StepScreen) and index > current.INDEX and not current.validate_all():
            return
        while len(self.screen_stack) > 2 and not isinstance(self.screen, StepScreen):
            self.pop_screen()
        self.step_index = index
        self.switch_screen(STEP_SCREENS[index]())

    def action_goto_step(self, index: int) -> None:
        self.goto_step(int(index))

    # --- save / load --------------------------------------------------------------------------------------------------

    def action_save(self) -> None:
        from embedwise.tui.screens.file_dialog import FileDialog

        def save(path: str) -> str:
            from embedwise.tui import backend

            saved = backend.save_requirements(self.answers, Path(path))
            self.requirements_path = saved
            return f"Saved {saved}"

        default = str(self.requirements_path or "requirements.yaml")
        self.push_screen(FileDialog("Save the requirements as YAML", default, save, "Save"), self._notify_result)

    def action_load(self) -> None:
        from embedwise.tui.screens.file_dialog import FileDialog

        default = str(self.requirements_path or "requirements.yaml")
        self.push_screen(FileDialog("Load a requirements YAML file", default, self._load_into_answers, "Load"),
                         self._notify_result)

    def _load_into_answers(self, path: str, notify: bool = False) -> str:
        from embedwise.errors import EmbedwiseError
        from embedwise.tui import backend

        try:
            loaded = backend.load_requirements(Path(path))
        except EmbedwiseError as exc:
            if notify:
                self.notify(str(exc), title="Could not load the requirements", severity="error", timeout=10)
                return ""
            raise
        self.answers = state.merge_loaded(loaded, keep_evaluation=self.answers.get("evaluation"))
        self.requirements_path = Path(path)
        self.shortlist = None
        self.picked = []
        self.call_after_refresh(self._refresh_step)
        message = f"Loaded {path}"
        if notify:
            self.notify(message)
        return message

    def _refresh_step(self) -> None:
        """Show the answers just loaded: rebuild the step on screen (or the summary's table)."""
        screen = self.screen
        if isinstance(screen, SummaryStep):
            screen.refresh_answers()
        elif isinstance(screen, StepScreen):
            self.switch_screen(STEP_SCREENS[screen.INDEX]())

    def _notify_result(self, message: str | None) -> None:
        if message:
            self.notify(message)

    # --- the engine -----------------------------------------------------------------------------------------------

    def action_recommend(self) -> None:
        screen = self.screen
        if isinstance(screen, StepScreen) and not screen.validate_all():
            self.notify("Fix the marked answer first.", severity="warning")
            return
        self.run_recommend()

    @work(exclusive=True, group="recommend")
    async def run_recommend(self) -> None:
        from embedwise.errors import EmbedwiseError
        from embedwise.tui import backend
        from embedwise.tui.screens.shortlist import ShortlistScreen

        summary = self.screen if isinstance(self.screen, SummaryStep) else None
        if summary:
            summary.set_running(True, "[b]Ranking models…[/b]")
        else:
            self.notify("Ranking models…", timeout=2)
        top = None
        try:
            view = await asyncio.to_thread(backend.recommend, self.answers, self.kb_path, top)
        except ImportError as exc:
            self.notify(f"The rules engine is not available: {exc}", severity="error", timeout=10)
            return
        except EmbedwiseError as exc:
            self.notify(str(exc), title="Cannot rank the models", severity="error", timeout=10)
            return
        except Exception as exc:  # noqa: BLE001 - a bug in a rule file must not take the app down
            self.log.error(exc)
            self.notify(f"{type(exc).__name__}: {exc}", title="The rules engine failed", severity="error",
                        timeout=15)
            return
        finally:
            if summary and summary.is_attached:
                summary.set_running(False)
        self.shortlist = view
        self.picked = []
        self.push_screen(ShortlistScreen(view))

    def action_shortlist(self) -> None:
        from embedwise.tui.screens.shortlist import ShortlistScreen

        if self.shortlist is None:
            self.notify("No shortlist yet: answer the questions and press Ctrl+R.", severity="warning")
            return
        self.push_screen(ShortlistScreen(self.shortlist))

    # --- other screens ----------------------------------------------------------------------------------------------

    def action_kb(self) -> None:
        from embedwise.tui.screens.kb import KnowledgeBaseScreen

        self.push_screen(KnowledgeBaseScreen())

    def action_validate(self) -> None:
        """The validate screen stays installed: a run goes on (and its results stay) while you look elsewhere."""
        from embedwise.tui.screens.validate import ValidateScreen

        if isinstance(self.screen, ValidateScreen):
            return
        if not self.is_screen_installed("validate"):
            self.install_screen(ValidateScreen(), name="validate")
        self.push_screen("validate")

    def action_help(self) -> None:
        from embedwise.tui.screens.help import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        for i, step in enumerate(state.STEPS):
            yield SystemCommand(f"Step {i + 1}: {step.title}", step.intro, lambda i=i: self.goto_step(i))
        yield SystemCommand("Rank models", "Run the rules engine on the answers and show the shortlist",
                            self.action_recommend)
        yield SystemCommand("Show shortlist", "The last ranked shortlist, its exclusions and advice",
                            self.action_shortlist)
        yield SystemCommand("Save requirements", "Write the answers as a requirements YAML file",
                            self.action_save)
        yield SystemCommand("Load requirements", "Read a requirements YAML file into the questionnaire",
                            self.action_load)
        yield SystemCommand("Knowledge base", "Browse and query every model with its sources", self.action_kb)
        yield SystemCommand("Validate on my data", "Run the validators on the shortlist with your data",
                            self.action_validate)
        yield SystemCommand("Help: keys", "Every key binding", self.action_help)
        yield from super().get_system_commands(screen)


def run_app(requirements: Path | None = None) -> None:
    EmbedwiseApp(requirements=requirements).run()

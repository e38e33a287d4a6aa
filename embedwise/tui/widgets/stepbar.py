"""The row of step names at the top of the questionnaire; click one to go there."""
from __future__ import annotations

from textual.content import Content
from textual.widgets import Static

from embedwise.tui.state import STEPS


class StepBar(Static):
    SHORT = ("Task", "Data", "Models", "Evaluate", "Integrate", "Review")
    def __init__(self, current: int) -> None:
        super().__init__(id="stepbar")
        self.current = current

    def on_mount(self) -> None:
        self.update(self._content())

    def _content(self):
        parts = []
        for i, name in enumerate(self.SHORT[: len(STEPS)]):
            label = f" {i + 1} {name} "
            if i == self.current:
                parts.append(Content.from_markup(f"[reverse b]{label}[/]"))
            elif i < self.current:
                parts.append(Content.from_markup(f"[$success @click=app.goto_step({i})] ✓ {name} [/]"))
            else:
                parts.append(Content.from_markup(f"[dim @click=app.goto_step({i})]{label}[/]"))
            if i < len(STEPS) - 1:
                parts.append(Content("›"))
        return Content.assemble(*parts)


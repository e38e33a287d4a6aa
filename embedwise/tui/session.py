"""What the screens need from the app, as a protocol: screens depend on this, never on `app.py` (which imports them)."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

from embedwise.tui.backend import ShortlistView, ValidationView


class Session(Protocol):
    """The questionnaire's state and the app-wide actions a screen may call."""

    answers: dict
    shortlist: ShortlistView | None
    picked: list[str]
    kb_path: Path | None
    last_validation: ValidationView | None
    validate_options: dict

    def goto_step(self, index: int, check: bool = True) -> None: ...
    def action_recommend(self) -> Any: ...
    def action_validate(self) -> Any: ...
    def action_save(self) -> Any: ...
    def action_load(self) -> Any: ...
    def push_screen(self, *args: Any, **kwargs: Any) -> Any: ...
    def call_from_thread(self, *args: Any, **kwargs: Any) -> Any: ...

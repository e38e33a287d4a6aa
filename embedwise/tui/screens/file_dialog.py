"""Ask for a file path to save or load the requirements YAML; errors are shown in the dialog."""
from __future__ import annotations

from typing import Callable

from rich.markup import escape
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static


class FileDialog(ModalScreen[str | None]):
    """`action(path)` does the work and returns a message; an exception's text is shown and the dialog stays."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, title: str, default: str, action: Callable[[str], str], verb: str) -> None:
        super().__init__()
        self.title_text = title
        self.default = default
        self.action_fn = action
        self.verb = verb

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Label(self.title_text, id="dialog-title")
            yield Input(self.default, placeholder="requirements.yaml", id="dialog-path", compact=True)
            yield Static("", id="dialog-error")
            with Horizontal(id="dialog-buttons"):
                yield Button("Cancel", id="cancel", compact=True)
                yield Button(self.verb, id="ok", variant="primary", compact=True)

    def on_mount(self) -> None:
        self.query_one("#dialog-path", Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self._go()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "ok":
            self._go()
        else:
            self.action_cancel()

    def _go(self) -> None:
        from embedwise.errors import EmbedwiseError

        path = self.query_one("#dialog-path", Input).value.strip()
        error = self.query_one("#dialog-error", Static)
        if not path:
            error.update("[red]✗ give a file name[/]")
            return
        try:
            message = self.action_fn(path)
        except (EmbedwiseError, OSError, ValueError, ImportError) as exc:
            error.update(f"[red]✗ {escape(str(exc))}[/]")
            return
        except Exception as exc:  # noqa: BLE001 - show it; the dialog stays
            error.update(f"[red]✗ {escape(type(exc).__name__)}: {escape(str(exc))}[/]")
            return
        self.dismiss(message)

    def action_cancel(self) -> None:
        self.dismiss(None)

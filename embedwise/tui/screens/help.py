"""The key bindings, on one page."""
from __future__ import annotations

from rich.table import Table
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

KEYS = (
    ("Tab / Shift+Tab", "next / previous question"),
    ("Enter", "accept the answer, go to the next question"),
    ("Ctrl+N", "next step (refused while an answer is invalid)"),
    ("Esc", "back: previous step, or close this screen"),
    ("Ctrl+R", "rank the models (from any step)"),
    ("Ctrl+S / Ctrl+O", "save / load the requirements YAML"),
    ("F3", "knowledge base browser"),
    ("F4", "the last shortlist"),
    ("F5", "validate models on your data"),
    ("Ctrl+P", "command palette: every action by name"),
    ("F1", "this help"),
    ("Ctrl+Q", "quit"),
)

SCREENS = """\
[b]Shortlist[/b]: ↑/↓ move, [b]Space[/b] or [b]Enter[/b] picks a model for validation, [b]v[/b] validates the \
picked models, [b]x[/b] excluded models (type an id: [i]why not X?[/i]), [b]a[/b] the advice.

[b]Knowledge base[/b]: type a query ([b]modality=text lang=deu params<1B commercial_use \
sort=-mteb.retrieval[/b]) or plain words; [b]Enter[/b] on a row shows every fact with its source.

[b]Validate[/b]: pick models, give the data folder, [b]Ctrl+R[/b] runs; the progress, the results and the \
quality vs latency chart follow in their tabs.

The mouse works everywhere: click fields, buttons, tabs, rows and the step names at the top."""


def help_table() -> Table:
    table = Table(box=None, show_header=False, pad_edge=False, expand=True)
    table.add_column("key", style="bold", no_wrap=True, width=16)
    table.add_column("does", ratio=1)
    for key, does in KEYS:
        table.add_row(key, does)
    return table


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,f1,q", "dismiss", "Close")]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-box"):
            yield Static("[b]embedwise: keys[/b]  [dim](Esc closes)[/]", id="help-title")
            yield Static(help_table())
            yield Static(SCREENS, id="help-screens")

    def action_dismiss(self, result=None) -> None:  # type: ignore[override]
        self.dismiss(None)

"""The key bindings, on one page."""
from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Markdown

HELP = """\
# embedwise: keys

| key | does |
|---|---|
| **Tab** / **Shift+Tab** | next / previous question |
| **Enter** | accept the answer, go to the next question |
| **Ctrl+N** | next step (refused while an answer is invalid) |
| **Esc** | back: previous step, or close this screen |
| **Ctrl+R** | rank the models (from any step) |
| **Ctrl+S** / **Ctrl+O** | save / load the requirements YAML |
| **F3** | knowledge base browser |
| **F4** | the last shortlist |
| **F5** | validate models on your data |
| **Ctrl+P** | command palette: every action by name |
| **F1** | this help |
| **Ctrl+Q** | quit |

**Shortlist**: ↑/↓ move, **Space** or **Enter** picks a model for validation, **v** validates the picked models,
**x** shows excluded models (type a model id: *why not X?*), **a** shows the advice.

**Knowledge base**: type a query (`modality=text lang=deu params<1B commercial_use sort=-mteb.retrieval`)
or plain words; **Enter** on a row shows every fact with its source.

**Validate**: pick models, give the data folder, **Ctrl+R** runs; progress, results and the quality vs
latency chart follow in their tabs. Everything works with the mouse too.
"""


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,f1,q", "dismiss", "Close")]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-box"):
            yield Markdown(HELP)

    def action_dismiss(self, result=None) -> None:  # type: ignore[override]
        self.dismiss(None)

"""One question: a label, the control that answers it, and a line under it with the hint or the error."""
from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Checkbox, Input, Label, Select, SelectionList, Static

from embedwise.tui import state
from embedwise.tui.state import Field


class FieldRow(Widget):
    """Answers one `Field`. Typed input is checked on every keystroke; an invalid answer shows its error inline."""

    class Answered(Message):
        """A valid answer: the step screen writes it into the app's answers."""

        def __init__(self, row: "FieldRow", path: str, value: Any) -> None:
            super().__init__()
            self.row = row
            self.path = path
            self.value = value

    def __init__(self, f: Field, value: Any) -> None:
        super().__init__(id=f.widget_id, classes="field-row")
        self.field = f
        self.value = value
        self.initial = value  # what an invalid edit falls back to: the answer before this step was edited
        self.error: str | None = None

    def compose(self) -> ComposeResult:
        f = self.field
        with Horizontal(classes="field-line"):
            yield Label(f.label, classes="field-label")
            with Vertical(classes="field-body"):
                yield self._control()
                if f.kind != "bool":
                    yield Static(f.hint, classes="field-hint", markup=False)

    def _control(self) -> Widget:
        f, value = self.field, self.value
        cid = "c-" + f.widget_id
        if f.kind == "choice":
            options = list(f.choices)
            current = f.to_choice(value)
            if current not in [v for _, v in options]:  # a value from a loaded file that the list lacks
                options.append((current, current))
            return Select(options, value=current, allow_blank=False, compact=True, id=cid)
        if f.kind == "bool":
            return MarkedCheckbox(f.hint, bool(value), compact=True, id=cid)
        if f.kind == "multi":
            chosen = set(value or [])
            return MarkedSelectionList(*[(label, v, v in chosen) for label, v in f.choices], compact=True, id=cid)
        return Input(state.render(f, value), placeholder=f.placeholder, compact=True, id=cid,
                     select_on_focus=False)

    @property
    def control(self) -> Widget:
        return self.query_one("#c-" + self.field.widget_id)

    def set_error(self, message: str | None) -> None:
        self.error = message
        self.set_class(message is not None, "-invalid")
        try:
            hint = self.query_one(".field-hint", Static)
        except Exception:  # bool rows have no hint line
            return
        hint.update(f"✗ {message}" if message else self.field.hint)

    def check(self) -> bool:
        """Re-validate the control's current text (used before leaving the step)."""
        control = self.control
        if isinstance(control, Input):
            return self._accept_text(control.value)
        return self.error is None

    def _accept_text(self, text: str) -> bool:
        try:
            value = state.parse(self.field, text)
        except ValueError as exc:
            self.set_error(str(exc))
            if self.value != self.initial:  # an invalid answer is not stored: keep the one from before
                self.value = self.initial
                self.post_message(self.Answered(self, self.field.path, self.initial))
            return False
        self.set_error(None)
        self.value = value
        self.post_message(self.Answered(self, self.field.path, value))
        return True

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        self._accept_text(event.value)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if self._accept_text(event.value):
            self.screen.focus_next()

    def on_select_changed(self, event: Select.Changed) -> None:
        event.stop()
        if event.value is not Select.BLANK:
            self.value = self.field.to_value(str(event.value))
            self.post_message(self.Answered(self, self.field.path, self.value))

    def on_checkbox_changed(self, event: Checkbox.Changed) -> None:
        event.stop()
        self.value = event.value
        self.post_message(self.Answered(self, self.field.path, event.value))

    def on_selection_list_selected_changed(self, event: SelectionList.SelectedChanged) -> None:
        event.stop()
        chosen = list(event.selection_list.selected)
        order = [v for _, v in self.field.choices]
        self.value = sorted(chosen, key=order.index)
        self.post_message(self.Answered(self, self.field.path, self.value))


ON_MARK, OFF_MARK = "✓", " "  # the state in a glyph, not by colour alone


class MarkedCheckbox(Checkbox):
    """A checkbox that shows its state with a mark (✓), not only with a colour."""

    def on_mount(self) -> None:
        self._mark()

    def watch_value(self) -> None:
        super().watch_value()
        self._mark()

    def _mark(self) -> None:
        self.BUTTON_INNER = ON_MARK if self.value else OFF_MARK
        self.refresh()


class MarkedSelectionList(SelectionList):
    """A selection list whose chosen entries show a mark (✓), not only a colour."""

    def render_line(self, y: int):
        from rich.segment import Segment
        from textual.strip import Strip

        strip = super().render_line(y)
        segments = list(strip)
        if len(segments) < 2:
            return strip
        meta = segments[1].style.meta if segments[1].style else {}
        index = meta.get("option") if meta else None
        if index is None:
            return strip
        try:
            chosen = self.get_option_at_index(index).value in self.selected
        except Exception:  # noqa: BLE001 - a line that is not an option
            return strip
        segments[1] = Segment(ON_MARK if chosen else OFF_MARK, segments[1].style)
        return Strip(segments, strip.cell_length)

"""The ranked shortlist with each model's score breakdown, the excluded models ("why not X?"), and the advice."""
from __future__ import annotations

from typing import TYPE_CHECKING

from rich.markup import escape
from rich.table import Table
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import (
    DataTable,
    Footer,
    Header,
    Input,
    Markdown,
    Static,
    TabbedContent,
    TabPane,
)

from embedwise.tui.backend import Candidate, Excluded, ShortlistView, estimate_lines

if TYPE_CHECKING:
    from embedwise.tui.session import Session


def candidate_detail(rank: int, c: Candidate) -> Table | str:
    table = Table(box=None, pad_edge=False, expand=True, show_header=True, header_style="dim")
    table.add_column("term", no_wrap=True)
    table.add_column("value", justify="right", no_wrap=True)
    table.add_column("rule · reason", ratio=1)
    for t in c.breakdown:
        table.add_row(escape(t.term), f"{t.value:+.2f}", f"[dim]{escape(t.rule)}[/] {escape(t.reason)}")
    title = f"[b]#{rank} {escape(c.name)}[/b] [dim]{escape(c.id)}[/]  score [b]{c.score:.2f}[/b]"
    if c.status == "discovered":
        title += "  [yellow](hub facts only, not curated)[/]"
    lines = [title]
    in_breakdown = {t.reason for t in c.breakdown}
    lines += [f"• {escape(r)}" for r in c.reasons if r not in in_breakdown]
    from rich.console import Group

    parts: list = ["\n".join(lines)]
    if c.breakdown:
        parts.append(table)
    estimates = estimate_lines(c.estimates)
    if estimates:
        parts.append("[dim]estimates:[/] " + escape(" · ".join(estimates)))
    return Group(*parts)


def excluded_detail(e: Excluded) -> str:
    lines = [f"[b]{escape(e.id)}[/b] is excluded:"]
    lines += [f"• {escape(text)} [dim]({escape(rule)})[/]" if rule else f"• {escape(text)}" for rule, text in e.reasons]
    return "\n".join(lines)


class ShortlistScreen(Screen):
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("space", "toggle_pick", "Pick for validation"),
        Binding("v", "validate", "Validate picked"),
        Binding("r", "show_tab('ranked')", "Ranked", show=False),
        Binding("x", "show_tab('excluded')", "Excluded"),
        Binding("a", "show_tab('advice')", "Advice"),
        Binding("slash", "why_not", "Why not…?", show=False),
    ]

    app: "Session"

    def __init__(self, view: ShortlistView) -> None:
        super().__init__()
        self.view = view

    def compose(self) -> ComposeResult:
        view = self.view
        yield Header()
        with TabbedContent(initial="ranked", id="shortlist-tabs"):
            with TabPane(f"Ranked ({len(view.candidates)})", id="ranked"):
                yield DataTable(id="ranked-table", cursor_type="row", zebra_stripes=True)
                with VerticalScroll(id="ranked-detail", classes="detail"):
                    yield Static("", id="ranked-why")
            with TabPane(f"Excluded ({len(view.excluded)})", id="excluded"):
                yield Input(placeholder="why not…? type a model id", id="why-not", compact=True)
                yield DataTable(id="excluded-table", cursor_type="row", zebra_stripes=True)
                with VerticalScroll(id="excluded-detail", classes="detail"):
                    yield Static("", id="excluded-why")
            with TabPane(f"Advice ({len(view.advice)})", id="advice"):
                with VerticalScroll(id="advice-scroll"):
                    yield Markdown(self._advice_markdown(), id="advice-md")
        yield Footer(compact=True, show_command_palette=False)

    def _advice_markdown(self) -> str:
        lines = []
        for title, text in self.view.extra:
            lines.append(f"- **{title}**: {text}")
        if lines:
            lines.append("")
        if not self.view.advice and not lines:
            return "No advice for these requirements."
        current_step = None
        for rule, text, step in self.view.advice:
            if step and step != current_step:
                current_step = step
                lines.append(f"\n**{step.replace('_', ' ').capitalize()}**\n")
            lines.append(f"- {text}" + (f" *({rule})*" if rule else ""))
        return "\n".join(lines)

    def on_mount(self) -> None:
        self.sub_title = "shortlist"
        ranked = self.query_one("#ranked-table", DataTable)
        ranked.add_column("✓", key="pick", width=1)
        ranked.add_column("#", key="rank", width=3)
        ranked.add_column("model", key="model", width=44)
        ranked.add_column("score", key="score", width=7)
        for rank, c in enumerate(self.view.candidates, 1):
            ranked.add_row(self._pick_mark(c.id), str(rank), c.id, f"{c.score:.2f}", key=c.id)
        excluded = self.query_one("#excluded-table", DataTable)
        excluded.add_column("model", key="model", width=34)
        excluded.add_column("why not", key="why")
        self._fill_excluded(self.view.excluded)
        if self.view.candidates:
            self._show_candidate(0)
            ranked.focus()
        else:
            self.query_one("#ranked-why", Static).update(
                "[b]No model satisfies every requirement.[/b] See the Excluded tab (x) for the reasons and the "
                "Advice tab (a) for what to relax.")
        if self.view.excluded:
            self._show_excluded(self.view.excluded[0])

    def _pick_mark(self, model_id: str) -> str:
        return "✓" if model_id in self.app.picked else ""

    def _fill_excluded(self, rows: list[Excluded]) -> None:
        table = self.query_one("#excluded-table", DataTable)
        table.clear()
        for e in rows:
            first = e.reasons[0][1] if e.reasons else ""
            more = f" (+{len(e.reasons) - 1})" if len(e.reasons) > 1 else ""
            table.add_row(e.id, first + more, key=e.id)

    def _show_candidate(self, index: int) -> None:
        if 0 <= index < len(self.view.candidates):
            self.query_one("#ranked-why", Static).update(candidate_detail(index + 1, self.view.candidates[index]))

    def _show_excluded(self, e: Excluded) -> None:
        self.query_one("#excluded-why", Static).update(excluded_detail(e))

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.data_table.id == "ranked-table":
            self._show_candidate(event.cursor_row)
        elif event.data_table.id == "excluded-table" and event.row_key is not None:
            e = next((x for x in self.view.excluded if x.id == event.row_key.value), None)
            if e:
                self._show_excluded(e)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        if event.data_table.id == "ranked-table":
            self.action_toggle_pick()

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id != "why-not":
            return
        text = event.value.strip()
        rows = [e for e in self.view.excluded if text.lower() in e.id.lower()] if text else self.view.excluded
        self._fill_excluded(rows)
        why = self.query_one("#excluded-why", Static)
        if not text:
            if rows:
                self._show_excluded(rows[0])
            return
        found = self.view.find(text)
        if found is None:
            why.update(f"No model matching [b]{escape(text)}[/b] was ranked or excluded: it is not in the "
                       "knowledge base (press F3 to search it).")
        elif found[0] == "shortlisted":
            rank, c = found[1]
            why.update(f"[b]{escape(c.id)}[/b] is not excluded: it is shortlisted at [b]#{rank}[/b].\n"
                       + "\n".join(f"• {escape(r)}" for r in c.reasons))
        else:
            self._show_excluded(found[1])

    def action_show_tab(self, tab: str) -> None:
        self.query_one(TabbedContent).active = tab
        target = {"ranked": "#ranked-table", "excluded": "#why-not", "advice": "#advice-scroll"}[tab]
        self.query_one(target).focus()

    def action_why_not(self) -> None:
        self.action_show_tab("excluded")

    def action_toggle_pick(self) -> None:
        table = self.query_one("#ranked-table", DataTable)
        if not self.view.candidates or self.query_one(TabbedContent).active != "ranked":
            return
        model_id = self.view.candidates[table.cursor_row].id
        if model_id in self.app.picked:
            self.app.picked.remove(model_id)
        else:
            self.app.picked.append(model_id)
        table.update_cell(model_id, "pick", self._pick_mark(model_id))

    def action_validate(self) -> None:
        self.app.action_validate()

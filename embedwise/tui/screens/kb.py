"""Browse the knowledge base: the `kb query` language and free text, and every fact of a model with its source."""
from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from rich.markup import escape
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import (
    DataTable,
    Footer,
    Header,
    Input,
    Static,
    TabbedContent,
    TabPane,
)

from embedwise.formatting import human_count, score_label

if TYPE_CHECKING:
    from embedwise.tui.session import Session

QUERY_HELP = "e.g. [b]modality=text lang=zho params<1B commercial_use sort=-mteb.retrieval[/b] or words"


class KnowledgeBaseScreen(Screen):
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("ctrl+f", "focus_query", "Query"),
    ]

    app: "Session"

    def __init__(self, expression: str = "") -> None:
        super().__init__()
        self.expression = expression
        self.rows: list[dict] = []

    def compose(self) -> ComposeResult:
        yield Header()
        yield Input(self.expression, placeholder="query: modality=text lang=deu params<1B   or free text",
                    id="kb-query", compact=True)
        yield Static(QUERY_HELP, id="kb-status")
        yield DataTable(id="kb-table", cursor_type="row", zebra_stripes=True)
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        self.sub_title = "knowledge base"
        table = self.query_one("#kb-table", DataTable)
        for label, key, width in (("model", "id", 33), ("kind", "kind", 6), ("host", "hosting", 9),
                                  ("params", "params", 6), ("dims", "dims", 5), ("MTEB", "mteb", 5)):
            table.add_column(label, key=key, width=width)
        self.query_one("#kb-query", Input).focus()
        self.run_query(self.expression)

    def on_input_changed(self, event: Input.Changed) -> None:
        self.expression = event.value
        self.run_query(event.value)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.query_one("#kb-table", DataTable).focus()

    @work(exclusive=True, group="kb-query")
    async def run_query(self, expression: str) -> None:
        from embedwise.errors import QueryError
        from embedwise.tui import backend

        await asyncio.sleep(0.15)  # debounce typing: a newer keystroke cancels this worker
        status = self.query_one("#kb-status", Static)
        query_input = self.query_one("#kb-query", Input)
        try:
            rows = await asyncio.to_thread(backend.kb_search, expression, self.app.kb_path)
        except QueryError as exc:
            query_input.add_class("-invalid")
            pointer = " " * exc.position + "^"
            first = str(exc).splitlines()[0]
            status.update(f"[b red]✗ {escape(first)}[/]\n[red]{escape(exc.expression)}\n{pointer}[/]")
            return
        except Exception as exc:  # noqa: BLE001 - EmbedwiseError and anything a broken KB raises
            query_input.add_class("-invalid")
            status.update(f"[b red]✗ {escape(str(exc))}[/]")
            return
        query_input.remove_class("-invalid")
        self.rows = rows
        table = self.query_one("#kb-table", DataTable)
        table.clear()
        for r in rows:
            dims = r.get("dimensions") or []
            kind = r.get("modality", "")
            if r.get("output") and r.get("output") != "dense":
                kind = {"sparse": "sparse", "multi_vector": "multi"}.get(r["output"], r["output"])
            mteb = r.get("mteb_mean")
            table.add_row(r["id"] + (" ·" if r.get("status") == "discovered" else ""), kind[:6],
                          str(r.get("hosting") or ""), human_count(r.get("parameters")),
                          str(dims[0]) if dims else "", f"{mteb:.1f}" if isinstance(mteb, (int, float)) else "",
                          key=r["id"])
        shown = f"[b]{len(rows)}[/b] model{'s' if len(rows) != 1 else ''}"
        status.update(f"{shown} · Enter: every fact with its source · {QUERY_HELP}")

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        if event.row_key is not None and event.row_key.value:
            self.app.push_screen(ModelDetailScreen(str(event.row_key.value)))

    def action_focus_query(self) -> None:
        self.query_one("#kb-query", Input).focus()


class ModelDetailScreen(Screen):
    """Every fact about one model with the source that backs it; published scores; runs on the user's data."""

    BINDINGS = [Binding("escape", "app.pop_screen", "Back")]

    app: "Session"

    def __init__(self, model_id: str) -> None:
        super().__init__()
        self.model_id = model_id

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(f"[b]{escape(self.model_id)}[/b]", id="detail-title")
        with TabbedContent(initial="facts"):
            with TabPane("Facts and sources", id="facts"):
                yield DataTable(id="facts-table", cursor_type="row", zebra_stripes=True)
                yield Static("", id="fact-source")
            with TabPane("Published scores", id="scores"):
                yield DataTable(id="scores-table", cursor_type="row", zebra_stripes=True)
            with TabPane("Your runs", id="runs"):
                yield DataTable(id="runs-table", cursor_type="row", zebra_stripes=True)
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        self.sub_title = self.model_id
        self.load()

    @work(exclusive=True)
    async def load(self) -> None:
        from embedwise.tui import backend

        try:
            data = await asyncio.to_thread(backend.kb_detail, self.model_id, self.app.kb_path)
        except Exception as exc:  # noqa: BLE001 - NotFound, or a broken KB
            self.query_one("#detail-title", Static).update(f"[b red]✗ {escape(str(exc))}[/]")
            return
        title = f"[b]{escape(data['name'])}[/b] [dim]{escape(data['id'])}[/]"
        if data["status"] == "discovered":
            title += "  [yellow]discovered on the hub: not curated[/]"
        if data["description"]:
            title += f"\n{escape(data['description'])}"
        self.query_one("#detail-title", Static).update(title)
        facts = self.query_one("#facts-table", DataTable)
        facts.add_column("fact", width=16)
        facts.add_column("value", width=20)
        facts.add_column("source", width=34)
        self.facts = [f for f in data["facts"] if f["field"] not in ("name", "description", "status")]
        for f in self.facts:
            facts.add_row(f["field"], f["value"], f["source"] or "—")
        scores = self.query_one("#scores-table", DataTable)
        for col, width in (("benchmark", 18), ("figure", 16), ("value", 16), ("zero-shot", 9)):
            scores.add_column(col, width=width)
        for s in data["scores"]:
            figure = score_label(s)
            value = f"{s['value']:.2f}" if s.get("comparable", True) else f"({s['value']:.2f}) partial"
            zs = s.get("zero_shot_pct")
            scores.add_row(s["benchmark"], figure, value + (" self-rep." if s.get("self_reported") else ""),
                           "unknown" if zs is None else f"{zs:g}%")
        runs = self.query_one("#runs-table", DataTable)
        for col in ("when", "dataset", "task", "status", "main metric"):
            runs.add_column(col)
        for run in data["runs"]:
            metrics = run.get("metrics") or {}
            main = next((f"{k} {v:.4f}" for k, v in metrics.items() if isinstance(v, (int, float))), "")
            runs.add_row(str(run.get("created_at", "")), str(run.get("dataset", "")), str(run.get("task", "")),
                         str(run.get("status", "")), main)
        facts.focus()

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.data_table.id == "facts-table" and 0 <= event.cursor_row < len(getattr(self, "facts", [])):
            f = self.facts[event.cursor_row]
            self.query_one("#fact-source", Static).update(
                f"[b]{escape(f['field'])}[/b] = {escape(f['value'])}\n[dim]source:[/] {escape(f['source'] or '—')}")

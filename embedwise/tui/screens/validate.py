"""Validate: `choose` on the user's data in a worker (screening, finalists, the decision), with progress bars, then
the decision first, the tables and a chart. Ctrl+X cancels a run."""
from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from rich.markup import escape
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import (
    Button,
    DataTable,
    Footer,
    Header,
    Input,
    Label,
    ProgressBar,
    Select,
    SelectionList,
    Static,
    TabbedContent,
    TabPane,
)

from embedwise.tui import state
from embedwise.tui.backend import ValidationView
from embedwise.tui.widgets import ScatterChart
from embedwise.tui.widgets.field import MarkedSelectionList

if TYPE_CHECKING:
    from embedwise.tui.session import Session

def short_name(ref: str) -> str:
    """A model reference as a table shows it: a local folder by its last two parts, ids as they are."""
    if ref.startswith(("/", "./", "../", "~")) or "\\" in ref:
        parts = [p for p in ref.replace("\\", "/").split("/") if p]
        return "…/" + "/".join(parts[-2:]) if len(parts) > 2 else ref
    return ref


def _num(value, digits: int = 4) -> str:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return f"{value:.{digits}f}" if isinstance(value, float) else str(value)
    return ""


class RunCancelled(BaseException):
    """Raised in the validators' thread by the progress callback when the user cancels the run."""


class ValidateScreen(Screen):
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("ctrl+r", "run", "Run", priority=True),
        Binding("ctrl+x", "cancel", "Cancel run", priority=True),
        Binding("s", "show_tab('setup')", "Setup", show=False),
        Binding("p", "show_tab('progress')", "Progress", show=False),
        Binding("r", "show_tab('results')", "Results"),
        Binding("c", "show_tab('chart')", "Chart"),
    ]

    app: "Session"

    def __init__(self) -> None:
        super().__init__()
        self.view: ValidationView | None = None
        self.bars: dict[str, ProgressBar] = {}

    def compose(self) -> ComposeResult:
        answers = self.app.answers
        data_path = state.get(answers, "evaluation.data_path") or ""
        task = state.get(answers, "evaluation.task") or "auto"
        yield Header()
        with TabbedContent(initial="setup", id="validate-tabs"):
            with TabPane("Setup", id="setup"):
                with VerticalScroll():
                    with Horizontal(classes="field-line"):
                        yield Label("Data folder or file", classes="field-label")
                        with Vertical(classes="field-body"):
                            yield Input(data_path, placeholder="./my-eval-data (BEIR folder, CSV, TSV, JSONL)",
                                        id="v-data", compact=True)
                            yield Static("retrieval, classification, STS or clustering data", id="v-data-hint",
                                         classes="field-hint")
                    with Horizontal(classes="field-line"):
                        yield Label("Data kind", classes="field-label")
                        yield Select([(label, v) for label, v in state.EVAL_TASKS], value=task, allow_blank=False,
                                     compact=True, id="v-task")
                    with Horizontal(classes="field-line"):
                        yield Label("Models (space toggles)", classes="field-label")
                        yield MarkedSelectionList(*self._model_options(), id="v-models", compact=True)
                    with Horizontal(classes="field-line"):
                        yield Label("More models", classes="field-label")
                        with Vertical(classes="field-body"):
                            yield Input(placeholder="hub ids, local folders, bm25 (comma separated)",
                                        id="v-extra", compact=True)
                            yield Static("the BM25 keyword baseline joins every run", id="v-status",
                                         classes="field-hint")
                    with Horizontal(id="v-actions"):
                        yield Button("Run validation ▶", id="v-run", variant="primary", compact=True)
            with TabPane("Progress", id="progress"):
                with VerticalScroll(id="progress-bars"):
                    yield Static("Not started. Set up the run and press Ctrl+R.", id="progress-note")
            with TabPane("Results", id="results"):
                with VerticalScroll():
                    yield DataTable(id="results-table", cursor_type="row", zebra_stripes=True)
                    yield Static("", id="report-path")
            with TabPane("Chart", id="chart"):
                with VerticalScroll():
                    yield ScatterChart(id="quality-latency")
        yield Footer(compact=True, show_command_palette=False)

    def _model_options(self) -> list[tuple[str, str, bool]]:
        app = self.app
        self._options_from = (id(app.shortlist), tuple(app.picked))
        options: list[tuple[str, str, bool]] = []
        top = int(state.get(app.answers, "evaluation.top") or 3)
        candidates = app.shortlist.candidates[:10] if app.shortlist else []
        chosen = set(app.picked) if app.picked else {c.id for c in candidates[:top]}
        for c in candidates:
            options.append((c.id, c.id, c.id in chosen))
        for mid in app.picked:
            if mid not in {o[1] for o in options}:
                options.append((mid, mid, True))
        return options

    def on_screen_resume(self) -> None:
        """Back on this screen (it stays installed, so a run goes on while you look elsewhere): follow a new
        shortlist or new picks unless a run is going."""
        if self.running:
            return
        data_input = self.query_one("#v-data", Input)
        if not data_input.value and state.get(self.app.answers, "evaluation.data_path"):
            data_input.value = state.get(self.app.answers, "evaluation.data_path")
        if getattr(self, "_options_from", None) == (id(self.app.shortlist), tuple(self.app.picked)):
            return
        models = self.query_one("#v-models", SelectionList)
        models.clear_options()
        models.add_options(self._model_options())

    @property
    def running(self) -> bool:
        return any(w.is_running for w in self.workers if w.group == "validate")

    def on_mount(self) -> None:
        self.sub_title = "validate on your data"
        table = self.query_one("#results-table", DataTable)
        for label, width in (("model", 28), ("status", 6), ("metric", 13), ("value", 6), ("p95 ms", 7),
                             ("docs/s", 7)):
            table.add_column(label, width=width)
        self.query_one("#v-data", Input).focus()

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id == "v-data":
            self._check_data(event.value)

    def _check_data(self, text: str) -> str | None:
        hint = self.query_one("#v-data-hint", Static)
        data_input = self.query_one("#v-data", Input)
        try:
            path = state.parse(state.FIELDS["evaluation.data_path"], text)
            if path is None:
                raise ValueError("required: the folder or file with your data")
        except ValueError as exc:
            hint.update(f"[red]✗ {escape(str(exc))}[/]")
            data_input.add_class("-invalid")
            return None
        hint.update("retrieval, classification, STS or clustering data")
        data_input.remove_class("-invalid")
        state.put(self.app.answers, "evaluation.data_path", path)
        return path

    def selected_models(self) -> list[str]:
        models = list(self.query_one("#v-models", SelectionList).selected)
        extra = self.query_one("#v-extra", Input).value
        for item in extra.replace(";", ",").split(","):
            item = item.strip()
            if item and item not in models:
                models.append(item)
        return models

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "v-run":
            event.stop()
            self.action_run()

    def action_run(self) -> None:
        data = self._check_data(self.query_one("#v-data", Input).value)
        models = self.selected_models()
        status = self.query_one("#v-status", Static)
        if data is None:
            self.query_one(TabbedContent).active = "setup"
            self.query_one("#v-data", Input).focus()
            return
        if not models:
            status.update("[red]✗ pick at least one model (space) or type one[/]")
            return
        status.update("")
        task = self.query_one("#v-task", Select).value
        self.query_one("#v-run", Button).disabled = True
        self.run_validation(data, models, str(task))

    @work(exclusive=True, group="validate")
    async def run_validation(self, data: str, models: list[str], task: str) -> None:
        from embedwise.tui import backend

        self.query_one(TabbedContent).active = "progress"
        holder = self.query_one("#progress-bars", VerticalScroll)
        await holder.remove_children()
        self.bars = {}
        await holder.mount(Static(f"Choosing among {len(models)} model{'s' if len(models) > 1 else ''} on "
                                  f"[b]{escape(data)}[/b] (loading models may take a while)…", id="progress-note"))

        last: dict[str, float] = {}
        import threading

        self._cancel = threading.Event()

        def progress(stage: str, done: int, total: int) -> None:
            # called from the validators' thread: forward at most ~10 updates a second per stage
            import time

            if self._cancel.is_set():
                raise RunCancelled()  # not an Exception: no model-failure handler swallows it
            now = time.monotonic()
            if 0 < done < total and now - last.get(stage, 0.0) < 0.1:
                return
            last[stage] = now
            try:
                self.app.call_from_thread(self._progress, str(stage), int(done), int(total))
            except Exception:  # noqa: BLE001 - the app is closing; the run must not fail for a progress bar
                pass

        try:
            view = await asyncio.to_thread(backend.choose, data, models, progress, task,
                                           self.app.answers if self.app.shortlist else None,
                                           self.app.validate_options)
        except RunCancelled:
            self.query_one("#progress-note", Static).update("[b yellow]✗ cancelled[/]: the run stopped at its next "
                                                            "step; nothing was saved")
            return
        except Exception as exc:  # noqa: BLE001 - bad data (BadInput), a missing package, a bug: show it
            self.query_one("#progress-note", Static).update(f"[b red]✗ {escape(str(exc))}[/]")
            self.query_one("#v-run", Button).disabled = False
            return
        finally:
            self.query_one("#v-run", Button).disabled = False
        self.show_results(view)

    def action_cancel(self) -> None:
        if self.running and getattr(self, "_cancel", None) is not None:
            self._cancel.set()
            self.query_one("#progress-note", Static).update("[yellow]cancelling…[/] (at the next step of the run)")

    def _progress(self, stage: str, done: int, total: int) -> None:
        """One bar per model (its current stage beside it), one for the data, one for the models overall."""
        if not self.is_attached:
            return
        key, _, what = stage.partition(": ")
        bar = self.bars.get(key)
        holder = self.query_one("#progress-bars", VerticalScroll)
        if bar is None:
            bar = ProgressBar(total=max(total, 1), show_eta=False)
            self.bars[key] = bar
            label = "all models" if key == "models" else short_name(key)
            row = Horizontal(Label(escape(label[-28:]), classes="progress-label"), bar,
                             Label("", classes="progress-stage"), classes="progress-row")
            holder.mount(row)
        bar.update(total=max(total, 1), progress=min(done, max(total, 1)))
        if bar.parent is not None:
            stage_label = bar.parent.query(".progress-stage")
            if stage_label:
                stage_label.first(Label).update(escape(what))

    def action_show_tab(self, tab: str) -> None:
        self.query_one(TabbedContent).active = tab

    def show_results(self, view: ValidationView) -> None:
        self.view = view
        self.app.last_validation = view
        table = self.query_one("#results-table", DataTable)
        table.clear()
        points = []
        # the metrics the user said matter (evaluation step) come first when the run measured them
        preferred = tuple(state.get(self.app.answers, "evaluation.metrics") or ())
        for run in view.runs:
            main = run.metric(preferred)
            p95 = run.latency_p95_ms
            table.add_row(short_name(run.model), run.status, main[0] if main else "", _num(main[1]) if main else "",
                          _num(p95, 1), _num(run.throughput, 0))
            if main and p95 is not None and run.status == "ok":
                points.append((short_name(run.model), p95, main[1]))
        failed = [r for r in view.runs if r.error]
        lines = []
        d = view.decision or {}
        if d.get("verdict"):
            conf = (d.get("confidence") or {}).get("level")
            lines.append(f"[b green]Decision:[/] [b]{escape(d['verdict'])}[/b] [dim](confidence {escape(str(conf))})[/]")
            if d.get("runner_up"):
                lines.append(f"Runner-up: {escape(d['runner_up'])} ({escape(str(d.get('runner_up_reason')))})")
        for r in view.ranking:
            if r.get("status") in ("dropped", "ruled_out"):
                why = "; ".join(r.get("reasons") or [])
                lines.append(f"[dim]{escape(r['status'].replace('_', ' '))}: {escape(short_name(r['model']))}: "
                             f"{escape(why)}[/]")
        if view.synthetic:
            lines.append("[yellow]synthetic retrieval set (built from your unlabeled corpus)[/]")
        if view.best and not d.get("verdict"):
            lines.append(f"Best on your data: [b]{escape(view.best)}[/b]")
        for r in failed:
            lines.append(f"[red]✗ {escape(r.model)}: {escape(r.error)}[/]")
        for note in view.notes:
            lines.append(f"[dim]{escape(note)}[/]")
        lines.append(f"Report saved: [b]{escape(view.report_path)}[/b]" if view.report_path else
                     "[dim]The report was not saved.[/]")
        others = [p for p in view.files.values() if p != view.report_path]
        if others:
            lines.append("[dim]also: " + escape(", ".join(others)) + "[/]")
        self.query_one("#report-path", Static).update("\n".join(lines))
        metric = next((r.metric(preferred)[0] for r in view.runs if r.metric(preferred)), "quality")
        self.query_one("#quality-latency", ScatterChart).set_points(points, "latency p95 ms (lower is better)",
                                                                   f"{metric} (higher is better)")
        note = self.query_one("#progress-note", Static)
        note.update(f"[green]✓ Done:[/] {len(view.runs)} run{'s' if len(view.runs) != 1 else ''}. "
                    "Results and Chart tabs.")
        self.query_one(TabbedContent).active = "results"
        table.focus()

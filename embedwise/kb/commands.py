"""What the `embedwise kb ...` commands do: call the store and query, print a rich table or JSON."""
from __future__ import annotations

import csv
import io
import json
import sys
from collections import Counter
from pathlib import Path

from rich.console import Console
from rich.table import Table

from embedwise.errors import BadInput
from embedwise.formatting import human_count, print_json, score_label
from embedwise.kb import store
from embedwise.kb.query import search
from embedwise.kb.schema import FACT_FIELDS, ModelRecord

# Piped output has no terminal width; use a page wide enough for a table (scripts should use --json).
console = Console() if sys.stdout.isatty() else Console(width=140)


def build(curated_dir: Path | None, json_out: bool) -> dict:
    result = store.build(curated_dir=curated_dir)
    if json_out:
        print_json(result)
    else:
        console.print(f"built {result['path']}: {result['models']} curated models")
        damaged = result["carried_over"].get("damaged_file_kept_as")
        if damaged:
            console.print(f"[yellow]the previous knowledge base was damaged: rebuilt from the curated files; the "
                          f"damaged file is kept as {damaged} (its runs and sync history were not carried over)[/]")
        elif result["carried_over"]:
            kept = ", ".join(f"{k} {v}" for k, v in result["carried_over"].items() if v)
            if kept:
                console.print(f"kept from the previous knowledge base: {kept}")
    return result


def query(expression: str, json_out: bool) -> list[dict]:
    db = store.open_db()
    rows = search(db, expression)
    if json_out:
        print_json(rows)
        return rows
    if not rows:
        from embedwise.kb.query import explain_empty

        why = explain_empty(db, expression)
        console.print("no model matches" + (f": {why}" if why else ""), highlight=False)
        return rows
    from rich import box

    table = Table(title=f"{len(rows)} models", title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False)
    table.add_column("id", min_width=20, max_width=50, overflow="fold")
    for col in ("kind", "hosting", "license", "params", "dims", "max tok", "MTEB", "$/1M"):
        table.add_column(col, no_wrap=True, justify="right" if col in ("params", "dims", "max tok", "MTEB", "$/1M") else "left")
    for r in rows:
        dims = r["dimensions"]
        table.add_row(
            r["id"] + (" [yellow](discovered)[/]" if r["status"] == "discovered" else ""),
            r["modality"] + ("" if r["output"] == "dense" else f"/{r['output']}"), r["hosting"], r["license"],
            human_count(r["parameters"]),
            (f"{dims[0]}" + (f" (≥{min(dims)})" if len(dims) > 1 else "")) if dims else "",
            str(r["max_tokens"] or ""), f"{r['mteb_mean']:.2f}" if r["mteb_mean"] is not None else "",
            f"{r['price_per_million_tokens']:g}" if r["price_per_million_tokens"] is not None else "",
        )
    console.print(table)
    return rows


def show_data(model_id: str) -> dict:
    db = store.open_db()
    record = store.get_record(db, model_id)
    data = record.model_dump(mode="json")
    runs = list(db.query("SELECT * FROM runs WHERE model_id = ? ORDER BY created_at DESC", [model_id]))
    for run in runs:
        for key in ("metrics", "speed", "robustness", "cost"):
            run[key] = json.loads(run[key]) if run.get(key) else None
    data["runs"] = runs
    from embedwise.kb import sync

    data["hub"] = sync.hub_facts_for(db, model_id)
    data["conflicts"] = sync.conflicts_for(db, model_id)
    data["flags"] = sync.flags_for(db, model_id)
    return data


def show(model_id: str, json_out: bool) -> dict:
    data = show_data(model_id)
    if json_out:
        print_json(data)
        return data
    sources = data["sources"]
    status = "" if data["status"] == "curated" else "  [yellow]discovered: hub facts only, not curated[/]"
    console.print(f"[bold]{data['id']}[/] — {data['name']}{status}")
    if data["description"]:
        console.print(data["description"])
    facts = Table("fact", "value", "source", title="facts", title_justify="left")
    for field in ModelRecord.model_fields:
        if field in ("id", "name", "description", "scores", "sources"):
            continue
        value = data[field]
        if value is None or value == []:
            continue
        src = sources.get(field)
        where = "[dim]default (not curated)[/]" if field in FACT_FIELDS else ""
        if src:
            where = src["ref"] + (f" ({src['date']})" if src.get("date") else "") + (f"\n[dim]{src['note']}[/]" if src.get("note") else "")
        facts.add_row(field, ", ".join(map(str, value)) if isinstance(value, list) else str(value), where)
    console.print(facts)
    if data["scores"]:
        console.print(scores_table(data["scores"]))
    if data["flags"] or data["conflicts"]:
        console.print("[bold red]hub changes to review[/]")
        for flag in data["flags"]:
            console.print(f"  • {flag['text']}")
        for c in data["conflicts"]:
            console.print(f"  • {c['field']}: curated {c['curated']!r}, hub says {c['hub']!r} ({c['at']})")
    if data["runs"]:
        runs = Table("when", "dataset", "task", "status", "main metrics", title="measured on your data", title_justify="left")
        for run in data["runs"]:
            metrics = run["metrics"] or {}
            main = ", ".join(f"{k} {v:.4f}" for k, v in metrics.items()
                             if k in ("ndcg_at_10", "accuracy", "cosine_spearman", "v_measure", "recall_at_100") and isinstance(v, (int, float)))
            runs.add_row(str(run["created_at"]), str(run["dataset"]), str(run["task"]) + (" (synthetic)" if run.get("synthetic") else ""), str(run["status"]), main)
        console.print(runs)
    return data


def _zero_shot(value: float | None) -> str:
    if value is None:
        return "unknown (no training data declared)"
    return "yes (100%)" if value >= 100 else f"{value:g}% of tasks unseen"


def scores_table(scores: list[dict]) -> Table:
    """Benchmark figures grouped by benchmark, each group headed by its zero-shot status; partial means say so."""
    from rich import box

    table = Table("benchmark", "figure", "value", "zero-shot", "note", title="published benchmark figures",
                  title_justify="left", box=box.SIMPLE_HEAD)
    groups: dict[str, list[dict]] = {}
    for s in scores:
        key = s["benchmark"] + (" · retrieval by language" if s.get("language") else "")
        groups.setdefault(key, []).append(s)
    for benchmark, rows in groups.items():
        rows.sort(key=lambda s: (s["task_type"] != "Mean", s.get("language") or "", s["task_type"], s["task"]))
        first = True
        for s in rows:
            figure = score_label(s)
            notes = []
            if not s["comparable"]:
                notes.append("[yellow]partial: not comparable[/]")
            if s.get("self_reported"):
                notes.append("self-reported")
            table.add_row(benchmark if first else "", figure,
                          f"{s['value']:.2f}" if s["comparable"] else f"[dim]({s['value']:.2f})[/]",
                          _zero_shot(s.get("zero_shot_pct")) if first else "", ", ".join(notes))
            first = False
        table.add_section()
    return table


def stats_data() -> dict:
    db = store.open_db()
    out: dict = {"models": db["models"].count}
    for col in ("modality", "hosting", "license", "output", "status"):
        out[col] = dict(db.execute(f"SELECT {col}, count(*) FROM models GROUP BY {col} ORDER BY count(*) DESC, {col}").fetchall())
    out["domain"] = dict(db.execute("SELECT domain, count(*) FROM model_domains GROUP BY domain ORDER BY count(*) DESC, domain").fetchall())
    out["commercial_use"] = dict(Counter("yes" if r[0] else "no" for r in db.execute("SELECT commercial_use FROM models")))
    out["open_weights"] = dict(Counter("yes" if r[0] else "no" for r in db.execute("SELECT open_weights FROM models")))
    return out


def stats(json_out: bool) -> dict:
    data = stats_data()
    if json_out:
        print_json(data)
        return data
    console.print(f"[bold]{data['models']}[/] models")
    for key in ("modality", "hosting", "output", "license", "domain", "commercial_use", "open_weights", "status"):
        table = Table(key, "models", title_justify="left")
        for value, count in data[key].items():
            table.add_row(str(value), str(count))
        console.print(table)
    return data


def curation_report(json_out: bool) -> dict:
    from embedwise.kb.curation_report import print_report, report_data

    data = report_data(store.open_db())
    if json_out:
        print_json(data)
    else:
        print_report(data, console)
    return data


EXPORT_FORMATS = ("json", "csv", "yaml")


def _curated_form(record: ModelRecord) -> dict:
    """The record as a curated file writes it: unset facts and unsourced defaults left out, so it loads back."""
    data = record.model_dump(mode="json", exclude_none=True)
    for name, field in ModelRecord.model_fields.items():
        if name in data and name not in record.sources and not field.is_required() \
                and data[name] == field.get_default(call_default_factory=True):
            del data[name]
    return data


def export_text(fmt: str) -> str:
    if fmt not in EXPORT_FORMATS:
        raise BadInput(f"unknown export format {fmt!r}; use one of {', '.join(EXPORT_FORMATS)}", "--format")
    records = store.load_records(store.open_db())
    dumped = [_curated_form(r) for r in records]
    if fmt == "json":
        return json.dumps(dumped, indent=2, ensure_ascii=False) + "\n"
    if fmt == "yaml":
        import yaml

        return yaml.safe_dump({"models": dumped}, sort_keys=False, allow_unicode=True, width=120)
    return _flat_csv(records)


def _flat_csv(records: list[ModelRecord]) -> str:
    """One flat row per model: lists joined with ';', one column per MTEB(eng, v2) mean, sources as a count and the
    first reference: a spreadsheet opens it as it is."""
    from embedwise.kb.store import MTEB_COLUMNS, record_to_row

    scalar = [f for f in ModelRecord.model_fields if f not in ("scores", "sources")]
    columns = scalar + list(MTEB_COLUMNS) + ["mteb_multilingual_mean", "scores", "sources", "first_source"]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns)
    writer.writeheader()
    for r in records:
        data = r.model_dump(mode="json")
        row = {k: (";".join(map(str, v)) if isinstance(v, list) else ("" if v is None else v))
               for k, v in data.items() if k in scalar}
        flat = record_to_row(r)
        row.update({c: "" if flat.get(c) is None else flat[c] for c in list(MTEB_COLUMNS) + ["mteb_multilingual_mean"]})
        first = next(iter(r.sources.values()), None)
        row.update(scores=len(r.scores), sources=len(r.sources), first_source=first.ref if first else "")
        writer.writerow(row)
    return buffer.getvalue()


def export(fmt: str, output: Path | None) -> None:
    text = export_text(fmt)
    if output:
        try:
            output.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise BadInput(f"cannot write the export: {exc.strerror or exc}", str(output)) from None
        console.print(f"wrote {output}", highlight=False)
    else:
        sys.stdout.write(text)

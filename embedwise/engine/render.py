"""The shortlist in the terminal (rich): ranked table, exclusions summarised by reason, advice by step."""
from __future__ import annotations

from collections import Counter

from embedwise.engine.estimates import fmt
from embedwise.engine.shortlist import Shortlist

STEP_TITLES = {"task": "1. task", "data": "2. data", "research": "3. research", "evaluate": "4. evaluate",
               "integrate": "5. integrate", "test": "6. test"}


def render_shortlist(shortlist: Shortlist, console=None) -> None:
    from rich.console import Console
    from rich.table import Table

    console = console or Console()
    req = shortlist.requirements
    console.print(f"[bold]embedwise recommend[/] — task [cyan]{req.get('task')}[/], "
                  f"{shortlist.total_models} models, {shortlist.survivors} meet every requirement, "
                  f"{len(shortlist.excluded)} excluded")
    if shortlist.shortlist:
        table = Table(show_lines=False, expand=True, pad_edge=False)
        table.add_column("#", justify="right", no_wrap=True)
        table.add_column("model", overflow="fold", ratio=3)
        table.add_column("score", justify="right", no_wrap=True)
        table.add_column("why", overflow="fold", ratio=5)
        table.add_column("estimates", overflow="fold", ratio=2)
        for c in shortlist.shortlist:
            name = c.id + (" [yellow](discovered)[/]" if c.status == "discovered" else "")
            why = "; ".join(c.reasons[:2]) or "-"
            est = c.estimates
            parts = []
            if est.get("deploy_as") == "api":
                parts.append(f"api ${fmt(est.get('monthly_cost_usd'))}/mo" if "monthly_cost_usd" in est
                             else "api, price unknown")
            elif "memory_gb" in est:
                parts.append(f"{fmt(est['memory_gb'])} GB")
            if "latency_ms" in est:
                parts.append(f"~{fmt(est['latency_ms'])} ms")
            if "storage_gb" in est:
                parts.append(f"{fmt(est['storage_gb'])} GB vectors")
            table.add_row(str(c.rank), name, f"{c.score:.1f}", why, ", ".join(parts))
        console.print(table)
        if shortlist.survivors > len(shortlist.shortlist):
            console.print(f"[dim]… {shortlist.survivors - len(shortlist.shortlist)} more; use --top N, "
                          "or --why MODEL_ID for one model[/]")
    else:
        console.print("[bold red]No model meets every requirement.[/]")
        relax = shortlist.relaxation
        if relax:
            for item in relax.excluded_by[:6]:
                console.print(f"  [red]{item['excludes']:>4}[/] excluded by {item['rule']}"
                              + (f"  (relax: {item['relax']})" if item.get("relax") else ""))
            if relax.best:
                console.print(f"[bold]Relaxing [cyan]{relax.best.relax}[/] would bring back "
                              f"{relax.best.brings_back} model(s)[/]: {', '.join(relax.best.models)}")
    if shortlist.excluded:
        counts = Counter(r.rule for e in shortlist.excluded for r in e.reasons)
        top = ", ".join(f"{rule} ({n})" for rule, n in counts.most_common(5))
        console.print(f"[dim]Excluded most often by: {top}. Ask `--why MODEL_ID` for any model.[/]")
    if shortlist.advice:
        console.print("\n[bold]Advice[/]")
        for a in shortlist.advice:
            console.print(f"  [cyan]{STEP_TITLES.get(a.step, a.step):<12}[/] {a.text}", highlight=False)
    assumptions = shortlist.estimates.get("assumptions", {})
    if assumptions:
        console.print(f"\n[dim]Estimates assume {assumptions.get('dtype')} weights "
                      f"({assumptions.get('bytes_per_parameter')} bytes/parameter, "
                      f"{assumptions.get('memory_overhead')}), {assumptions.get('query_tokens')} tokens per query, "
                      f"indexing cost spread over {assumptions.get('indexing_amortised_over_months')} months.[/]")

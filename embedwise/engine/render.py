"""The shortlist in the terminal (rich): ranked table, exclusions summarised by reason, advice by step."""
from __future__ import annotations

from collections import Counter

from embedwise.engine.estimates import fmt
from embedwise.engine.shortlist import Shortlist

STEP_TITLES = {"task": "task", "data": "data", "research": "research", "evaluate": "evaluate",
               "integrate": "integration", "test": "testing"}


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
        longest = max((len(part) for c in shortlist.shortlist for part in c.id.split("/")), default=20)
        table.add_column("model", overflow="fold", min_width=min(max(longest, 12), 24))
        table.add_column("score", justify="right", no_wrap=True)
        table.add_column("why", overflow="fold", ratio=5, min_width=26)
        table.add_column("estimates", overflow="fold", min_width=18)
        for c in shortlist.shortlist:
            # break ids after their '/', never mid-word
            owner, _, model = c.id.partition("/")
            name = (f"{owner}/\n{model}" if model else c.id) + (
                " [yellow](discovered)[/]" if c.status == "discovered" else "")
            why = "; ".join(c.reasons[:2]) or "-"
            est = c.estimates
            parts = [f"runs: {est.get('deploy_as', '?').replace('_', '-')}"]
            if est.get("deploy_as") != "api" and "memory_gb" in est:
                parts.append(f"memory: {fmt(est['memory_gb'])} GB")
            if "latency_ms" in est:
                parts.append(f"latency: ~{fmt(est['latency_ms'])} ms")
            cost = c.cost or {}
            if cost.get("monthly_usd") is not None:
                parts.append(f"monthly: ${fmt(cost['monthly_usd'])}")
            elif est.get("deploy_as") == "api":
                parts.append("monthly: price unknown")
            if cost.get("one_off_usd") is not None:
                parts.append(f"indexing: ${fmt(cost['one_off_usd'])}")
            if "storage_gb" in est:
                parts.append(f"vectors: {fmt(est['storage_gb'])} GB")
            table.add_row(str(c.rank), name, f"{c.score:.1f}", why, "\n".join(parts))
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
            for hint in relax.feasible:
                console.print(f"[bold]Not feasible as asked[/]: try [cyan]{hint}[/]")
            if relax.best and relax.best.brings_back:
                console.print(f"[bold]Relaxing [cyan]{relax.best.relax}[/] would bring back "
                              f"{relax.best.brings_back} model(s)[/]: {', '.join(relax.best.models)}")
    if shortlist.excluded:
        counts = Counter(r.rule for e in shortlist.excluded for r in e.reasons)
        top = ", ".join(f"{rule} ({n})" for rule, n in counts.most_common(5))
        console.print(f"[dim]Excluded most often by: {top}. Ask `--why MODEL_ID` for any model.[/]")
    if shortlist.advice:
        console.print("\n[bold]Advice[/]")
        for a in shortlist.advice:
            console.print(f"  • [cyan]{STEP_TITLES.get(a.step, a.step)}:[/] {a.text}", highlight=False)
    if shortlist.validate_these:
        console.print(f"\n[bold]Validate these on your data[/] (strong, but no matching benchmark figure): "
                      f"{', '.join(shortlist.validate_these)}", highlight=False)
    assumptions = shortlist.estimates.get("assumptions", {})
    if assumptions:
        console.print(f"\n[dim]Estimates assume {assumptions.get('dtype')} weights "
                      f"({assumptions.get('bytes_per_parameter')} bytes/parameter, "
                      f"{assumptions.get('memory_overhead')}), {assumptions.get('query_tokens')} tokens per query; "
                      "indexing is a one-off cost, apart from the monthly cost; self-hosting at cloud prices.[/]")

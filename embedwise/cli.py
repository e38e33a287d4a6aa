"""The `embedwise` command. Each command is a thin call into one package; errors print without a traceback."""
from __future__ import annotations

import sqlite3
import sys
from pathlib import Path
from typing import Optional

import typer

from embedwise.errors import EmbedwiseError

app = typer.Typer(help="Choose the right embedding model: knowledge base, rules, validation on your data.",
                  no_args_is_help=False, add_completion=False, pretty_exceptions_enable=False)
kb_app = typer.Typer(help="Query and maintain the knowledge base of embedding models.", no_args_is_help=True)
app.add_typer(kb_app, name="kb")


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        typer.echo(f"embedwise {version('embedwise')}")
        raise typer.Exit()


@app.callback(invoke_without_command=True)
def _root(ctx: typer.Context,
          version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                       help="Print the version and exit.")) -> None:
    """With no command in a terminal, start the questionnaire."""
    if ctx.invoked_subcommand is None:
        if sys.stdin.isatty() and sys.stdout.isatty():
            from embedwise.tui.app import run_app

            run_app()
        else:
            typer.echo(ctx.get_help())


# --- kb -------------------------------------------------------------------------------------------------------------

@kb_app.command("build")
def kb_build(
    curated: Optional[Path] = typer.Option(None, help="Folder of curated YAML files (default: the shipped ones)."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """(Re)build the knowledge base from the curated files; a failure leaves the old one as it was."""
    from embedwise.kb import commands

    commands.build(curated, json_out)


@kb_app.command("query")
def kb_query(
    expression: list[str] = typer.Argument(None, help="Filters and free text, e.g. 'modality=text lang=zho params<1B' "
                                                      "(quote it: < and > are shell redirects)"),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Find models with a small filter language.

    \b
    term := FIELD OP VALUE     modality=text  params<1B  lang=zho
          | FLAG | !FLAG       commercial_use  permissive  open_weights
          | score.BENCH[.TYPE] OP N     score.LongEmbed>70
          | sort=[-]FIELD | limit=N | WORD | "some words"
    OP   := = != < <= > >= ~   (~ is a literal substring match)
    FLAG := commercial_use permissive open_weights multilingual
            trust_remote_code safetensors
    FIELD:= id name provider family modality output hosting license
            similarity status lifecycle languages_basis base_model lang
            domain input tag trained_for params active_params dims
            max_tokens memory price batch_price free_tokens downloads
            likes released mteb mteb.retrieval mteb.classification
            mteb.clustering mteb.sts mteb.reranking mteb.multilingual
    Numbers take K M B T suffixes; dates are YYYY[-MM[-DD]].
    """

    from embedwise.kb import commands

    commands.query(" ".join(expression or []), json_out)


@kb_app.command("show")
def kb_show(model_id: str, json_out: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Every fact about one model, with its source, its sync flags and measured runs."""
    from embedwise.kb import commands

    commands.show(model_id, json_out)


@kb_app.command("stats")
def kb_stats(json_out: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Counts by modality, hosting, licence and domain."""
    from embedwise.kb import commands

    commands.stats(json_out)


@kb_app.command("curation-report")
def kb_curation_report(json_out: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Facts counted by source kind (card, paper, vendor, mteb, ...) and confidence: what rests on mteb alone."""
    from embedwise.kb import commands

    commands.curation_report(json_out)


@kb_app.command("export")
def kb_export(
    format: str = typer.Option("json", "--format", "-f", help="json | csv | yaml"),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="File to write (default: standard output)."),
) -> None:
    """Export every model with its facts, sources and scores."""
    from embedwise.kb import commands

    commands.export(format, output)


# --- recommend (engine) ---------------------------------------------------------------------------------------------

@app.command("recommend")
def recommend_cmd(
    requirements: Path = typer.Option(..., "--requirements", "-r", help="Requirements YAML "
                                      "(write one with `embedwise requirements template`)."),
    top: Optional[int] = typer.Option(None, "--top", "-n", min=1, help="Show at most N models (default 10)."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON: shortlist, excluded, advice."),
    why: Optional[str] = typer.Option(None, "--why", help="Explain one model: its score or why it was excluded."),
    rules: Optional[Path] = typer.Option(None, "--rules", help="Folder of rule files (default: the shipped ones)."),
) -> None:
    """Rank the knowledge base against your requirements, with every reason and advice."""
    from embedwise.engine import commands as engine_commands

    engine_commands.recommend(requirements, top, json_out, why, rules)


# --- requirements (engine) ------------------------------------------------------------------------------------------

requirements_app = typer.Typer(help="Write and check requirements files.", no_args_is_help=True)
app.add_typer(requirements_app, name="requirements")


@requirements_app.command("template")
def requirements_template(
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="File to write (default: standard output)."),
    force: bool = typer.Option(False, "--force", help="Replace an existing --output file."),
) -> None:
    """A requirements file with the defaults and a comment on every field."""
    from embedwise.engine import commands as engine_commands

    engine_commands.template(output, force)


@requirements_app.command("check")
def requirements_check(path: Path, json_out: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Validate a requirements file and print it with every default filled in."""
    from embedwise.engine import commands as engine_commands

    engine_commands.check(path, json_out)


# --- validate (validators) ------------------------------------------------------------------------------------------

@app.command("validate")
def validate_cmd(
    data: Path = typer.Option(..., "--data", help="Folder or file: BEIR retrieval, text,label, sentence1,sentence2,score, or a bare corpus."),
    task: Optional[str] = typer.Option(None, "--task", help="retrieval | classification | sts | clustering (default: detected)."),
    requirements: Optional[Path] = typer.Option(None, "--requirements", help="Requirements file: its shortlist supplies the models."),
    models: Optional[str] = typer.Option(None, "--models", help="Comma-separated: knowledge-base ids, hub ids, model folders, bm25, api:NAME."),
    top: Optional[int] = typer.Option(None, "--top", min=1, help="With --requirements: validate the top N of the shortlist (default 3)."),
    out: Optional[Path] = typer.Option(None, "--out", help="Folder for report.json, report.md, report.html (default: the reports dir)."),
    json_out: bool = typer.Option(False, "--json", help="Print the JSON report on standard output."),
    no_cache: bool = typer.Option(False, "--no-cache", help="Do not read or write the embedding cache."),
    device: Optional[str] = typer.Option(None, "--device", help="cpu | cuda | mps (default: the best available)."),
    trust_remote_code: Optional[str] = typer.Option(None, "--trust-remote-code", help="Comma-separated model ids allowed to run their repository's code."),
    no_speed: bool = typer.Option(False, "--no-speed", help="Skip the speed and memory load test."),
    no_robustness: bool = typer.Option(False, "--no-robustness", help="Skip edge cases and perturbations."),
    speed_sample: int = typer.Option(256, "--speed-sample", min=1, help="Texts sampled for the throughput test."),
    queries_per_month: Optional[int] = typer.Option(None, "--queries-per-month", min=1, help="Query volume for cost figures."),
    no_bm25: bool = typer.Option(False, "--no-bm25", help="Leave out the BM25 baseline."),
    index: Optional[str] = typer.Option(None, "--index", help="milvus: also search through HNSW and IVF indexes in Milvus (Lite unless --index-uri)."),
    index_uri: Optional[str] = typer.Option(None, "--index-uri", help="A Milvus server URI (http://host:19530) instead of a Milvus Lite file."),
    keep_index: bool = typer.Option(False, "--keep-index", help="Keep the Milvus Lite file under --out after the run."),
    compression: bool = typer.Option(False, "--compression", help="Measure float16, int8, binary (+ rescoring) and Matryoshka truncation."),
    hybrid: bool = typer.Option(False, "--hybrid", help="Measure BM25 + dense fusion (RRF and a tuned weighted sum)."),
    rerank: Optional[str] = typer.Option(None, "--rerank", help="A cross-encoder (hub id or folder) to rerank the top 100."),
    ray: Optional[str] = typer.Option(None, "--ray", help="Run on Ray: a bare --ray starts a local instance, auto joins a running cluster, or an address (host:6379, ray://host:10001)."),
    ray_actors: Optional[int] = typer.Option(None, "--ray-actors", min=1, help="Actors per model (default: what the cluster's resources allow)."),
    ray_cpus_per_actor: float = typer.Option(1.0, "--ray-cpus-per-actor", min=0.0, help="CPUs reserved by each Ray actor."),
    ray_gpus_per_actor: float = typer.Option(0.0, "--ray-gpus-per-actor", min=0.0, help="GPUs reserved by each Ray actor."),
) -> None:
    """Benchmark models on your own data: quality (MTEB metrics), speed and memory, robustness, cost."""
    from embedwise.validators.commands import RunOptions, run_validate

    run_validate(data=data, task=task, requirements=requirements, models=models, top=top, out=out, json_out=json_out,
                 options=RunOptions(no_cache=no_cache, device=device, trust_remote_code=trust_remote_code,
                                    no_speed=no_speed, no_robustness=no_robustness, speed_sample=speed_sample,
                                    queries_per_month=queries_per_month, no_bm25=no_bm25, index=index,
                                    index_uri=index_uri, keep_index=keep_index, compression=compression,
                                    hybrid=hybrid, rerank=rerank, ray=ray, ray_actors=ray_actors,
                                    ray_cpus_per_actor=ray_cpus_per_actor, ray_gpus_per_actor=ray_gpus_per_actor))

@app.command("choose")
def choose_cmd(
    requirements: Optional[Path] = typer.Option(None, "--requirements", help="Requirements file: the shortlist, the priority and the hard limits."),
    data: Path = typer.Option(..., "--data", help="Your data: BEIR retrieval, text,label, sentence1,sentence2,score, or a bare corpus."),
    top: Optional[int] = typer.Option(None, "--top", min=1, help="How many of the shortlist compete (default 3)."),
    models: Optional[str] = typer.Option(None, "--models", help="Comma-separated models instead of the shortlist."),
    time_budget: str = typer.Option("10m", "--time-budget", help="Plan the run to fit: 600, 90s, 10m, 1h (none = no limit)."),
    full: bool = typer.Option(False, "--full", help="No screening: measure every candidate in full."),
    task: Optional[str] = typer.Option(None, "--task", help="retrieval | classification | sts | clustering (default: detected)."),
    out: Optional[Path] = typer.Option(None, "--out", help="Folder for report.json, report.md, report.html (default: the reports dir)."),
    json_out: bool = typer.Option(False, "--json", help='Print {"decision", "ranking", "screening", "runs"} as JSON.'),
    no_cache: bool = typer.Option(False, "--no-cache", help="Do not read or write the embedding cache."),
    device: Optional[str] = typer.Option(None, "--device", help="cpu | cuda | mps (default: the best available)."),
    trust_remote_code: Optional[str] = typer.Option(None, "--trust-remote-code", help="Comma-separated model ids allowed to run their repository's code."),
    no_speed: bool = typer.Option(False, "--no-speed", help="Skip the load test and memory."),
    no_robustness: bool = typer.Option(False, "--no-robustness", help="Skip edge cases and perturbations."),
    queries_per_month: Optional[int] = typer.Option(None, "--queries-per-month", min=1, help="Query volume for cost (default: the requirements')."),
    no_bm25: bool = typer.Option(False, "--no-bm25", help="Leave out the BM25 baseline."),
    ray: Optional[str] = typer.Option(None, "--ray", help="Run on Ray: a bare --ray starts a local instance, auto joins a running cluster, or an address."),
    ray_actors: Optional[int] = typer.Option(None, "--ray-actors", min=1, help="Actors per model (default: what the cluster allows)."),
    ray_cpus_per_actor: float = typer.Option(1.0, "--ray-cpus-per-actor", min=0.0, help="CPUs reserved by each Ray actor."),
    ray_gpus_per_actor: float = typer.Option(0.0, "--ray-gpus-per-actor", min=0.0, help="GPUs reserved by each Ray actor."),
) -> None:
    """Choose a model: screen the shortlist on your data, measure the finalists, and state the decision with its reasons."""
    from embedwise.validators.commands import RunOptions, run_choose

    run_choose(data=data, requirements=requirements, models=models, top=top, time_budget=time_budget, full=full,
               task=task, out=out, json_out=json_out,
               options=RunOptions(no_cache=no_cache, device=device, trust_remote_code=trust_remote_code,
                                  no_speed=no_speed, no_robustness=no_robustness,
                                  queries_per_month=queries_per_month, no_bm25=no_bm25, ray=ray,
                                  ray_actors=ray_actors, ray_cpus_per_actor=ray_cpus_per_actor,
                                  ray_gpus_per_actor=ray_gpus_per_actor))

# --- sync (kb.sync) -------------------------------------------------------------------------------------------------

@app.command("sync")
def sync_command(
    endpoint: Optional[str] = typer.Option(None, "--endpoint", metavar="URL",
                                           help="Hub URL (default: HF_ENDPOINT, else https://huggingface.co)."),
    nightly: bool = typer.Option(False, "--nightly", help="Log to a file in the logs folder instead of the terminal "
                                                          "(for systemd or cron)."),
    discover: Optional[bool] = typer.Option(None, "--discover/--no-discover",
                                            help="Add new hub models as 'discovered' (default: on, see sync.toml)."),
    json_out: bool = typer.Option(False, "--json", help="Print the run summary as JSON."),
) -> None:
    """Refresh hub facts (downloads, licence, gating, ...) and discover new models; curated facts are never changed.

    Token from HF_TOKEN. A lock keeps two syncs from overlapping. Exits 1 when the run failed or skipped answers
    (see the summary and the log); the README shows how to run it nightly.
    """
    from embedwise.kb import sync

    code = sync.command(endpoint=endpoint, nightly=nightly, discover=discover, json_out=json_out)
    if code:
        raise SystemExit(code)

# --- tui ------------------------------------------------------------------------------------------------------------

@app.command("tui")
def tui(
    requirements: Optional[Path] = typer.Option(None, "--requirements", "-r",
                                                help="A requirements YAML file to start from."),
) -> None:
    """The terminal questionnaire: requirements, shortlist, knowledge base browser and validation."""
    from embedwise.tui.app import run_app

    run_app(requirements=requirements)


def _usage_error_types() -> tuple[type, ...]:
    """Usage errors come from click, or from the copy of click that typer >= 0.29 ships (`typer._click`)."""
    import importlib

    types = []
    for module in ("typer._click.exceptions", "click.exceptions"):
        try:
            types.append(importlib.import_module(module).ClickException)
        except (ImportError, AttributeError):
            pass
    return tuple(types)


def _bare_ray(argv: list[str]) -> list[str]:
    """`--ray` with no address (last, or before another option) means a local Ray instance: `--ray local`."""
    out = list(argv)
    for i, arg in enumerate(out):
        if arg == "--ray" and (i + 1 == len(out) or out[i + 1].startswith("-")):
            out.insert(i + 1, "local")
            break
    return out


def main() -> None:
    try:
        result = app(args=_bare_ray(sys.argv[1:]), standalone_mode=False)
    except EmbedwiseError as exc:
        typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
        raise SystemExit(exc.exit_code) from None
    except KeyboardInterrupt:
        typer.echo("aborted", err=True)
        raise SystemExit(130) from None
    except sqlite3.DatabaseError as exc:
        from embedwise import paths

        typer.secho(f"error: the knowledge base {paths.kb_path()} is damaged ({exc}): `embedwise kb build` rebuilds "
                    "it from the curated files and keeps the damaged file beside it", fg=typer.colors.RED, err=True)
        raise SystemExit(2) from None
    except SystemExit:
        raise
    except Exception as exc:
        if type(exc).__name__ == "Abort":
            typer.echo("aborted", err=True)
            raise SystemExit(130) from None
        if isinstance(exc, _usage_error_types()):
            exc.show()
            raise SystemExit(getattr(exc, "exit_code", 2) or 2) from None
        raise
    if isinstance(result, int) and result:
        raise SystemExit(result)


if __name__ == "__main__":
    main()

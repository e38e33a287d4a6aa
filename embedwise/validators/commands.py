"""What `embedwise validate` does around `validate()`: rich progress bars on standard error, then the terminal summary
or the JSON report on standard output."""
from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from embedwise.errors import BadInput, ModelRunError


class RichProgress:
    """A `progress(stage, done, total)` callback that draws one bar per stage (models, then each model's steps)."""

    def __init__(self, console: Any):
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )

        self.progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                 TimeElapsedColumn(), console=console, transient=True)
        self.tasks: dict[str, Any] = {}

    def __enter__(self) -> "RichProgress":
        self.progress.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.progress.stop()

    def __call__(self, stage: str, done: int, total: int) -> None:
        task = self.tasks.get(stage)
        if task is None:
            task = self.tasks[stage] = self.progress.add_task(stage, total=max(total, 1))
        self.progress.update(task, completed=done, total=max(total, 1))


def check_out(folder: Path) -> None:
    """The report folder must be writable before any model runs, not after an hour of measuring."""
    if folder.exists() and not folder.is_dir():
        raise BadInput("is a file, not a folder for the reports", "--out " + str(folder))
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / ".embedwise-write-test"
        probe.write_text("")
        probe.unlink()
    except OSError as exc:
        raise BadInput(f"cannot write the reports there ({exc.strerror or exc})", "--out " + str(folder)) from None


@dataclass
class RunOptions:
    """The options `validate` and `choose` share: how each model is measured, and where."""

    no_cache: bool = False
    device: str | None = None
    trust_remote_code: str | None = None
    no_speed: bool = False
    no_robustness: bool = False
    speed_sample: int = 256
    queries_per_month: int | None = None
    no_bm25: bool = False
    index: str | None = None
    index_uri: str | None = None
    keep_index: bool = False
    compression: bool = False
    hybrid: bool = False
    rerank: str | None = None
    ray: str | None = None
    ray_actors: int | None = None
    ray_cpus_per_actor: float = 1.0
    ray_gpus_per_actor: float = 0.0

    def check(self) -> None:
        if self.device is not None and self.device.split(":")[0] not in ("cpu", "cuda", "mps"):
            raise BadInput(f"unknown device {self.device!r}: use cpu, cuda (cuda:N) or mps", "--device")
        if self.index is not None and self.index.lower() != "milvus":
            raise BadInput(f"unknown index {self.index!r}: the vector database measured is milvus", "--index")
        if (self.index_uri or self.keep_index) and self.index is None:
            raise BadInput("--index-uri and --keep-index go with --index milvus", "--index")

    def kwargs(self) -> dict[str, Any]:
        """Keyword arguments of `validate()` (and `choose()`)."""
        from embedwise.validators.load import SpeedConfig

        return {"use_cache": not self.no_cache, "device": self.device,
                "trust_remote_code": [m.strip() for m in (self.trust_remote_code or "").split(",") if m.strip()],
                "measure_speed": not self.no_speed, "measure_robustness": not self.no_robustness,
                "speed_config": SpeedConfig(sample_texts=self.speed_sample),
                "queries_per_month": self.queries_per_month, "include_bm25": not self.no_bm25,
                "integration": self.integration()}

    def integration(self) -> Any:
        if not (self.index or self.compression or self.hybrid or self.rerank):
            return None
        from embedwise.validators.integration import IntegrationOptions

        return IntegrationOptions(index=self.index.lower() if self.index else None, index_uri=self.index_uri,
                                  keep_index=self.keep_index, compression=self.compression, hybrid=self.hybrid,
                                  rerank=self.rerank)

    def backend(self) -> Any:
        """A Ray backend when `--ray` was given (Ray is imported only then), None for the local run."""
        if self.ray is None:
            return None
        from embedwise.validators.distributed import make_backend

        return make_backend(self.ray, actors=self.ray_actors, cpus_per_actor=self.ray_cpus_per_actor,
                            gpus_per_actor=self.ray_gpus_per_actor)


def run_validate(*, data: Path, task: str | None, requirements: Path | None, models: str | None, top: int | None,
                 out: Path | None, json_out: bool, options: RunOptions) -> None:
    from rich.console import Console

    from embedwise.validators.report import print_summary, to_json
    from embedwise.validators.run import validate

    options.check()
    if out is not None:
        check_out(Path(out).expanduser())
    kwargs = {"task": task, "models": models, "top": top, "requirements": requirements, "out": out,
              **options.kwargs()}
    backend = options.backend()
    try:
        report = with_progress(lambda progress: validate(data, progress=progress, backend=backend, **kwargs))
    finally:
        if backend is not None:
            backend.close()
    if json_out:
        sys.stdout.write(to_json(report) + "\n")
    else:
        print_summary(report, Console())
    fail_if_all_failed(report.runs)


def run_choose(*, data: Path, requirements: Path | None, models: str | None, top: int | None, time_budget: str,
               full: bool, task: str | None, out: Path | None, json_out: bool, options: RunOptions) -> None:
    import json

    from rich.console import Console

    from embedwise.validators.choose import choice_json, choose
    from embedwise.validators.choose_render import print_decision
    from embedwise.validators.report import print_summary
    from embedwise.validators.budget import parse_duration

    options.check()
    budget = parse_duration(time_budget)
    if requirements is None and not models:
        raise BadInput("choose needs --requirements FILE (the shortlist, priority and limits) or --models", "--requirements")
    if out is not None:
        check_out(Path(out).expanduser())
    kwargs = {k: v for k, v in options.kwargs().items() if k != "integration"}
    kwargs.pop("speed_config")
    backend = options.backend()
    try:
        report = with_progress(lambda progress: choose(data, requirements=requirements, models=models, top=top,
                                                       time_budget=budget, full=full, task=task, out=out,
                                                       progress=progress, backend=backend, **kwargs))
    finally:
        if backend is not None:
            backend.close()
    if json_out:
        sys.stdout.write(json.dumps(choice_json(report), indent=2, ensure_ascii=False, default=str) + "\n")
    else:
        print_decision(report, Console())
        print_summary(report, Console())
    fail_if_all_failed(report.runs)


def with_progress(call: Any) -> Any:
    """`call(progress)` with progress bars on standard error when it is a terminal."""
    from rich.console import Console

    err = Console(stderr=True)
    if not err.is_terminal:
        return call(None)
    with RichProgress(err) as bars:
        return call(bars)


def fail_if_all_failed(runs: list[Any]) -> None:
    failed = [r for r in runs if r.status != "ok"]
    if runs and len(failed) == len(runs):
        raise ModelRunError(f"every model failed ({', '.join(r.model for r in failed)}); see the report for each error")

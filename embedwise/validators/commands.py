"""What `embedwise validate` does around `validate()`: rich progress bars on standard error, then the terminal summary
or the JSON report on standard output."""
from __future__ import annotations

import sys
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


def _check_out(folder: Path) -> None:
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


def run_validate(*, data: Path, task: str | None, requirements: Path | None, models: str | None, top: int | None,
                 out: Path | None, json_out: bool, no_cache: bool, device: str | None, trust_remote_code: str | None,
                 no_speed: bool, no_robustness: bool, speed_sample: int, queries_per_month: int | None,
                 no_bm25: bool) -> None:
    from rich.console import Console

    from embedwise.validators.load import SpeedConfig
    from embedwise.validators.report import print_summary, to_json
    from embedwise.validators.run import validate

    if device is not None and device.split(":")[0] not in ("cpu", "cuda", "mps"):
        raise BadInput(f"unknown device {device!r}: use cpu, cuda (cuda:N) or mps", "--device")
    if out is not None:
        _check_out(Path(out).expanduser())
    err = Console(stderr=True)
    show_bars = err.is_terminal
    kwargs = dict(task=task, models=models, top=top, requirements=requirements, out=out, use_cache=not no_cache,
                  device=device, trust_remote_code=[m.strip() for m in (trust_remote_code or "").split(",") if m.strip()],
                  measure_speed=not no_speed, measure_robustness=not no_robustness,
                  speed_config=SpeedConfig(sample_texts=speed_sample), queries_per_month=queries_per_month,
                  include_bm25=not no_bm25)
    if show_bars:
        with RichProgress(err) as bars:
            report = validate(data, progress=bars, **kwargs)
    else:
        report = validate(data, **kwargs)
    if json_out:
        sys.stdout.write(to_json(report) + "\n")
    else:
        print_summary(report, Console())
    failed = [r for r in report.runs if r.status != "ok"]
    if report.runs and len(failed) == len(report.runs):
        raise ModelRunError(f"every model failed ({', '.join(r.model for r in failed)}); see the report for each error")

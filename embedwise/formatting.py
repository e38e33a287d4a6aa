"""Small formatting helpers shared by the CLI tables and the TUI."""
from __future__ import annotations


def human_count(n: float | None) -> str:
    """22713216 -> '22.7M'; None -> ''."""
    if n is None:
        return ""
    for unit, scale in (("T", 1e12), ("B", 1e9), ("M", 1e6), ("K", 1e3)):
        if n >= scale:
            return f"{n / scale:.3g}{unit}"
    return str(int(n))


def score_label(score: dict) -> str:
    """What one benchmark figure is, within its benchmark: 'Mean (Task)', 'Retrieval', 'retrieval (jpn)', 'Retrieval:
    SciFact'."""
    if score["task_type"] == "Mean":
        return score["task"]
    if score.get("language"):
        return f"retrieval ({score['language']})"
    return score["task_type"] if score["task"] == "mean" else f"{score['task_type']}: {score['task']}"


def print_json(data: object) -> None:
    """JSON for scripts on standard output: indented, UTF-8 as is, dates and paths as strings."""
    import json
    import sys

    sys.stdout.write(json.dumps(data, indent=2, default=str, ensure_ascii=False) + "\n")

"""Helpers for the TUI tests (a uniquely named module: `conftest` is a name every test folder shares)."""
from __future__ import annotations


def fake_shortlist():
    """A fixed shortlist in the engine's JSON shape (the `recommend --json` contract)."""
    from embedwise.tui.backend import normalise_shortlist

    result = {
        "shortlist": [
            {"id": "acme/tiny-en", "name": "tiny-en", "score": 0.812,
             "breakdown": [
                 {"term": "benchmark", "value": 0.41, "rule": "rank-retrieval", "reason": "MTEB retrieval 41.0"},
                 {"term": "hardware", "value": 0.2, "rule": "cpu-small", "reason": "22M parameters run on a CPU"},
                 {"term": "popularity", "value": 0.05, "rule": "popular", "reason": "widely used"}],
             "reasons": ["fits a CPU", "Apache-2.0 allows commercial use"],
             "estimates": {"memory_gb": 0.4, "latency_ms": 8.0, "storage_gb": 0.15}},
            {"id": "acme/embed-api", "name": "acme embed API", "score": 0.644,
             "breakdown": [{"term": "benchmark", "value": 0.64, "rule": "rank-retrieval", "reason": "MTEB mean 64.0"},
                           {"term": "cost", "value": -0.05, "rule": "api-cost", "reason": "$3/month at this volume"}],
             "reasons": ["hosted API"], "estimates": {"monthly_cost_usd": 3.0}},
        ],
        "excluded": [
            {"id": "acme/big-multi", "reasons": [
                {"rule": "license-noncommercial", "text": "CC-BY-NC-4.0 forbids commercial use"},
                {"rule": "cpu-too-big", "text": "7B parameters are too slow on a CPU"}]},
            {"id": "acme/clip-small", "reasons": [{"rule": "modality", "text": "an image model; your data is text"}]},
        ],
        "advice": [
            {"rule": "keyword-hybrid", "text": "Keep BM25 beside the dense model: hybrid search helps exact terms.",
             "step": "data"},
            {"rule": "cache", "text": "Cache document embeddings keyed by model and text hash.", "step": "integration"},
        ],
    }
    return normalise_shortlist(result)


async def _wait_for(pilot, condition, timeout: float = 30.0) -> None:
    """Let the app run until `condition()` holds (workers run in threads: poll, never sleep a fixed time)."""
    import time

    end = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > end:
            raise AssertionError(f"timed out waiting for {condition}")
        await pilot.pause(0.05)
    await pilot.pause()


def plain(widget) -> str:
    """The text a Static shows, markup removed (works for markup strings and Rich renderables)."""
    import io

    from rich.console import Console
    from rich.text import Text

    content = widget.content
    if isinstance(content, str):
        return Text.from_markup(content).plain
    if hasattr(content, "plain"):
        return content.plain
    console = Console(width=200, file=io.StringIO(), record=True, color_system=None)
    console.print(content)
    return console.export_text()

"""A validation run from the TUI: a tiny BERT model the test builds (no downloads) on a small retrieval set."""
from __future__ import annotations

import json
import os

import pytest
from textual.widgets import DataTable, Input, Static, TabbedContent

from tui_helpers import plain
from embedwise.tui.app import EmbedwiseApp
from embedwise.tui.screens.validate import ValidateScreen

pytestmark = pytest.mark.anyio

WORDS = ("apple banana cherry grape lemon mango orange peach pear plum car bus train plane boat ship bike truck "
         "road rail sky sea river city town house tree forest red green blue fast slow big small").split()


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    """A randomly initialised 2-layer BERT (hidden 32) saved as a sentence-transformers folder."""
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    import torch
    from sentence_transformers import SentenceTransformer
    from transformers import BertConfig, BertModel, BertTokenizer

    root = tmp_path_factory.mktemp("tiny")
    bert_dir, model_dir = root / "bert", root / "model"
    bert_dir.mkdir()
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *WORDS, *"abcdefghijklmnopqrstuvwxyz0123456789.,!?"]
    vocab_file = root / "vocab.txt"
    vocab_file.write_text("\n".join(vocab) + "\n")
    torch.manual_seed(0)
    config = BertConfig(vocab_size=len(vocab), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=128)
    BertModel(config).save_pretrained(bert_dir)
    BertTokenizer(vocab_file=str(vocab_file), do_lower_case=True).save_pretrained(bert_dir)
    SentenceTransformer(str(bert_dir), device="cpu").save(str(model_dir))  # mean pooling over the BERT
    return model_dir


@pytest.fixture
def retrieval_set(tmp_path):
    folder = tmp_path / "data"
    folder.mkdir()
    docs = [(f"d{i}", " ".join(WORDS[(i * 3 + k) % len(WORDS)] for k in range(6))) for i in range(24)]
    with open(folder / "corpus.jsonl", "w") as fh:
        for did, text in docs:
            fh.write(json.dumps({"_id": did, "title": "", "text": text}) + "\n")
    with open(folder / "queries.jsonl", "w") as fh:
        for i in range(8):
            fh.write(json.dumps({"_id": f"q{i}", "text": " ".join(docs[i * 3][1].split()[:3])}) + "\n")
    with open(folder / "qrels.tsv", "w") as fh:
        fh.write("query-id\tcorpus-id\tscore\n")
        for i in range(8):
            fh.write(f"q{i}\td{i * 3}\t1\n")
    return folder


async def test_validation_run_with_progress_results_and_chart(tiny_model, retrieval_set, wait_for):
    from embedwise.validators.load import SpeedConfig

    app = EmbedwiseApp()
    app.validate_options = {
        "speed_config": SpeedConfig(sample_texts=16, batch_sizes=(4,), concurrency=(1, 2), requests_per_level=8,
                                    max_seconds_per_step=2.0, warmup=1),
        "time_budget": None,
    }
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("f5")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, ValidateScreen)
        data_input = screen.query_one("#v-data", Input)
        data_input.value = str(retrieval_set / "nope")
        await pilot.pause()
        assert "no such file or folder" in plain(screen.query_one("#v-data-hint", Static))
        await pilot.press("ctrl+r")  # refused: the data path is wrong
        await pilot.pause()
        assert screen.query_one(TabbedContent).active == "setup"
        data_input.value = str(retrieval_set)
        missing = str(retrieval_set.parent / "no-such-model")
        screen.query_one("#v-extra", Input).value = f"{tiny_model}, {missing}"
        await pilot.pause()
        assert screen.selected_models() == [str(tiny_model), missing]
        await pilot.click("#v-run")
        await pilot.pause()
        # a tiny model on a tiny set may already be done by the time we look
        assert screen.query_one(TabbedContent).active in ("progress", "results")
        await pilot.press("escape")  # look elsewhere while it runs: the UI stays live
        await pilot.pause()
        assert type(app.screen).__name__ == "TaskStep"
        await pilot.press("ctrl+n")
        await pilot.pause()
        assert type(app.screen).__name__ == "DataStep"
        await wait_for(pilot, lambda: app.last_validation is not None, timeout=600)
        await pilot.press("f5")  # the same screen, with the results
        await pilot.pause()
        assert app.screen is screen and screen.view is app.last_validation

        assert screen.query_one(TabbedContent).active == "results"
        assert screen.bars, "progress bars were shown"
        view = screen.view
        runs = {r.model: r for r in view.runs}
        assert view.decision["verdict"] and view.decision["model"] in runs  # the decision comes first
        report_text = plain(screen.query_one("#report-path", Static))
        assert report_text.startswith("Decision: " + view.decision["verdict"])
        ranked = {r["model"]: r["status"] for r in view.ranking}
        assert ranked.get(str(tiny_model)) in ("winner", "runner_up", "finalist", "dropped") and "bm25" in runs
        if ranked[str(tiny_model)] == "dropped":  # screened out: its reason is shown, and it is not measured in full
            assert "dropped" in report_text and str(tiny_model) not in runs
        else:
            tiny = runs[str(tiny_model)]
            assert tiny.status == "ok", tiny.error
            assert 0.0 <= tiny.metrics["ndcg_at_10"] <= 1.0
            assert tiny.latency_p95_ms is not None and tiny.throughput
        table = screen.query_one("#results-table", DataTable)
        assert table.row_count == len(view.runs)
        assert view.report_path and os.path.exists(view.report_path)
        report_text = plain(screen.query_one("#report-path", Static))
        assert view.report_path in report_text
        # a model that cannot load is reported as failed with its error; the others went on
        assert runs[missing].status == "failed" and runs[missing].error
        assert "✗" in report_text and "no-such-model" in report_text
        chart = screen.query_one("#quality-latency")
        assert len(chart.points) == len([r for r in view.runs if r.status == "ok"])
        assert app.last_validation is view


async def test_a_validation_run_can_be_cancelled(tiny_model, retrieval_set, wait_for):
    from embedwise.validators.load import SpeedConfig

    app = EmbedwiseApp()
    app.validate_options = {  # a long load test: the cancel lands while it runs
        "speed_config": SpeedConfig(sample_texts=64, batch_sizes=(1, 2, 4), concurrency=(1, 2, 4),
                                    requests_per_level=400, max_seconds_per_step=30.0, warmup=1),
    }
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("f5")
        await pilot.pause()
        screen = app.screen
        screen.query_one("#v-data", Input).value = str(retrieval_set)
        screen.query_one("#v-extra", Input).value = str(tiny_model)
        await pilot.pause()
        await pilot.click("#v-run")
        await wait_for(pilot, lambda: screen.running, timeout=60)
        await pilot.press("ctrl+x")
        await wait_for(pilot, lambda: not screen.running, timeout=300)
        assert "cancelled" in plain(screen.query_one("#progress-note", Static))
        assert app.last_validation is None

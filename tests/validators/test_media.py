"""validate() on images and audio end to end, with a tiny CLIP and a tiny CLAP built here (random weights, loaded
through sentence-transformers and transformers), small PNG and WAV files, and the damaged ones beside them."""
from __future__ import annotations

import json
import re

import numpy as np
import pytest
from media_helpers import (
    IMAGE_DOCS,
    SR,
    build_tiny_clap,
    build_tiny_clip,
    pattern_image,
    tone,
    wav_bytes,
    write_audio_classification,
    write_audio_retrieval,
    write_image_classification,
    write_image_retrieval,
    write_png,
)

from embedwise.errors import BadInput
from embedwise.validators.load import SpeedConfig
from embedwise.validators.run import validate

TINY_SPEED = SpeedConfig(sample_texts=6, batch_sizes=(1, 4), concurrency=(1, 4), requests_per_level=8)
FAST = {"speed_config": TINY_SPEED, "store": False, "n_experiments": 3, "samples_per_label": 3}  # with db=kb: no KB build


@pytest.fixture(scope="module", autouse=True)
def one_torch_thread():
    """Tiny models gain nothing from threads, and on a shared 2-core machine the thread hand-offs cost more than the
    arithmetic."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def tiny_clip(tmp_path_factory):
    return build_tiny_clip(tmp_path_factory.mktemp("tiny_clip"))


@pytest.fixture(scope="session")
def tiny_clap(tmp_path_factory):
    return build_tiny_clap(tmp_path_factory.mktemp("tiny_clap"))


@pytest.fixture(scope="session")
def photos(tmp_path_factory):
    return write_image_retrieval(tmp_path_factory.mktemp("media") / "photos")


@pytest.fixture(scope="session")
def sounds(tmp_path_factory):
    return write_audio_retrieval(tmp_path_factory.mktemp("media") / "sounds")


# --- reading files -------------------------------------------------------------------------------------------------------

def test_wav_reader_handles_widths_channels_rates_and_damage():
    from embedwise.validators.media.decode import (
        Media,
        MediaError,
        decode_wav,
        read_audio,
    )

    x = tone(440, 0.25)
    for width in (1, 2, 3, 4):
        y, rate = decode_wav(wav_bytes(x, width=width, channels=2))
        assert rate == SR and len(y) == len(x)
        assert np.abs(y - np.clip(x, -1, 1)).max() < (0.02 if width == 1 else 1e-3)  # stereo mixed to mono
    import io

    from scipy.io import wavfile

    buf = io.BytesIO()
    wavfile.write(buf, 8000, (x[:2000] * 0.5).astype(np.float32))  # IEEE float, which `wave` cannot read
    y, rate = decode_wav(buf.getvalue())
    assert rate == 8000 and np.allclose(y, x[:2000] * 0.5, atol=1e-6)
    item = Media.from_bytes("audio", wav_bytes(tone(440, 2.0, rate=22_050), rate=22_050), "long.wav")
    assert len(read_audio(item, SR)) == 2 * SR  # resampled to the model's rate
    assert len(read_audio(item, SR, max_samples=SR)) == SR  # cut to the model's window first
    for raw, reason in ((b"", "empty"), (b"RIFF\x04\x00\x00\x00WAVE", "WAV"), (wav_bytes(x)[:30], "ends early")):
        with pytest.raises(MediaError, match=reason):
            decode_wav(raw)


def test_image_reader_converts_modes_and_refuses_damage(tmp_path):
    from embedwise.validators.media.decode import (
        Media,
        MediaError,
        check,
        open_file,
        read_image,
    )

    gray = open_file(write_png(tmp_path / "g.png", pattern_image(1).convert("L")), "image")
    assert read_image(gray).mode == "RGB" and gray.startswith("image-sha256:")
    assert max(read_image(gray.with_variant("huge")).size) == 4000
    assert max(read_image(gray.with_variant("tiny")).size) == 16
    assert gray.with_variant("tiny") != gray  # a variant is cached apart from its file
    (tmp_path / "bad.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00")
    with pytest.raises(MediaError, match="not an image"):
        open_file(tmp_path / "bad.png", "image")
    with pytest.raises(MediaError, match="not found"):
        open_file(tmp_path / "nope.png", "image")
    with pytest.raises(MediaError, match="only WAV"):
        check(Media.from_bytes("audio", b"ID3", "song.mp3"))


# --- loading data --------------------------------------------------------------------------------------------------------

def test_image_folder_is_loaded_with_bad_files_set_aside(photos):
    from embedwise.validators.data import detect_task, load_data

    ds = load_data(photos)
    assert (ds.modality, ds.task) == ("image", "retrieval") and detect_task(photos) == ("retrieval", False)
    assert set(ds.corpus) == {f"pic{i}.png" for i in range(IMAGE_DOCS)} | {"gray.png", "dot.png"}
    assert set(ds.queries) == {"t0", "t1", "t2", "t3", "i0", "i1", "i2"}  # the query with a damaged file is out
    assert ds.qrels["t0"] == {"pic0.png": 1} and ds.qrels["t3"] == {"pic3.png": 1, "gray.png": 1}
    bad = {b["file"].split("/")[-1]: b["reason"] for b in ds.bad_files}
    assert set(bad) == {"broken.png", "torn.jpg"} and "not an image" in bad["broken.png"]
    assert ds.summary()["bad_files"] == 2 and any("broken.png" in n for n in ds.notes)


def test_bad_layouts_say_what_and_where(photos, tmp_path, beir_dir, cls_dir):
    import shutil

    from embedwise.validators.data import load_data
    from embedwise.validators.media.data import media_task

    assert media_task(beir_dir) is None and media_task(cls_dir) is None  # text data stays text
    (tmp_path / "notes.csv").write_text("text,label,path\nmy card was lost,card,a.png\nrefund please,refund,b.png\n")
    assert media_task(tmp_path / "notes.csv") is None  # a text table that also names files
    f = shutil.copytree(photos, tmp_path / "p1")
    (f / "qrels.tsv").write_text("query-id\tcorpus-id\tscore\nt0\tcat.png\t1\n")
    with pytest.raises(BadInput, match="'cat.png' is not a file under") as e:
        load_data(f)
    assert e.value.where.endswith("qrels.tsv:2")
    (f / "queries.jsonl").write_text('{"_id": "x", "text": "a cat", "image": "queries/q0.png"}\n')
    with pytest.raises(BadInput, match="either `text` or a file path") as e:
        load_data(f)
    assert e.value.where.endswith("queries.jsonl:1")
    with pytest.raises(BadInput, match="sts reads text"):
        load_data(photos, "sts")
    (f / "corpus" / "beep.wav").write_bytes(wav_bytes(tone(300)))
    (f / "queries.jsonl").write_text('{"_id": "t0", "text": "a cat"}\n')
    with pytest.raises(BadInput, match="both images and audio"):
        load_data(f)
    bare = tmp_path / "bare"
    write_png(bare / "a.png", pattern_image(3))
    with pytest.raises(BadInput, match="needs queries.jsonl"):
        load_data(bare)


# --- end to end ----------------------------------------------------------------------------------------------------------

def test_image_retrieval_end_to_end(tiny_clip, photos, tmp_path, kb):
    report = validate(photos, models=[str(tiny_clip)], out=tmp_path / "out", db=kb, **FAST)
    assert report.task == "retrieval" and [r.model for r in report.runs] == [str(tiny_clip)]  # no BM25 on images
    (run,) = report.runs
    assert run.status == "ok", run.error
    assert {"ndcg_at_10", "recall_at_100", "mrr_at_10", "precision_at_1"} <= set(run.metrics)
    assert set(run.per_query["ndcg_at_10"]) == {"t0", "t1", "t2", "t3", "i0", "i1", "i2"}
    kinds = run.info["by_query_kind"]
    assert kinds["image"]["queries"] == 3 and kinds["image"]["ndcg_at_10"] == 1.0  # byte copies find their file
    assert kinds["text"]["queries"] == 4 and 0.0 <= kinds["text"]["ndcg_at_10"] <= 1.0
    assert report.dataset["bad_files"] == 2 and any("2 unreadable image" in n for n in run.notes)
    # robustness: awkward files never crash; damaged ones are refused with the reason
    rob = run.robustness
    assert rob["edge_cases_ok"] == rob["edge_cases_total"] == 6 + 9  # 6 image cases + the text side's 9
    assert rob["edge_cases"]["corrupt_file"]["refused"] and "not an image" in rob["edge_cases"]["corrupt_file"]["handling"]
    assert rob["edge_cases"]["huge"]["cosine_to_original"] > 0.9 and rob["edge_cases"]["tiny_1x1"]["finite"]
    assert rob["edge_cases"]["text_very_long"]["truncated"]
    assert set(rob["media"]) == {"grayscale", "tiny", "jpeg"} and rob["media"]["grayscale"]["items"] == 10
    pert = rob["queries"]["perturbations"]
    assert pert["grayscale"]["applies_to"] == "image queries" and pert["grayscale"]["queries"] == 3
    assert pert["typos"]["applies_to"] == "text queries" and -1 <= pert["typos"]["ndcg_drop"] <= 1
    # speed, memory and cost on files
    s = run.speed
    assert [t["batch_size"] for t in s["throughput"]] == [1, 4] and s["best_docs_per_s"] > 0
    assert all(lat["p50_ms"] <= lat["p99_ms"] for lat in s["latency"]) and s["peak_rss_mb"] > 0
    assert run.cost["corpus_texts"] == run.cost["corpus_tokens"] == 10 and run.cost["hardware_class"]
    md = (tmp_path / "out" / "report.md").read_text()
    assert "| grayscale |" in md and "broken.png" in md and "refused with a reason" in md
    assert "image_queries 3" in md
    # a re-run reads every vector back, robustness included (files are keyed by their bytes): no model loads
    from embedwise.validators.data import load_data
    from embedwise.validators.media.encoders import make_media_encoder

    enc = make_media_encoder(str(tiny_clip), load_data(photos))
    again = validate(photos, models=[str(tiny_clip)], out=tmp_path / "again", db=kb, measure_speed=False,
                     encoders={str(tiny_clip): enc}, **FAST).runs[0]
    assert not enc.loaded and again.status == "ok" and again.cache["misses"] == 0 and again.cache["hits"] > 0
    assert again.metrics == run.metrics and again.robustness["media"] == rob["media"]


def test_image_classification(tiny_clip, tmp_path, kb):
    data = write_image_classification(tmp_path / "colours")
    report = validate(data, models=[str(tiny_clip)], out=tmp_path / "out", db=kb, measure_speed=False, **FAST)
    (run,) = report.runs
    assert report.task == "classification" and run.status == "ok", run.error
    assert {"accuracy", "f1", "knn_accuracy"} <= set(run.metrics) and len(run.per_experiment["accuracy"]) == 3
    assert run.metrics["accuracy"] > 0.5  # three flat colours: even random weights separate them
    assert report.dataset["train"] == 12 and report.dataset["test"] == 6 and report.dataset["bad_files"] == 2
    reasons = {b["file"].split("/")[-1]: b["reason"] for b in report.dataset["bad_file_reasons"]}
    assert reasons == {"missing.png": "file not found", "bad.png": "not an image Pillow can read (unknown or "
                                                                  "damaged format)"}
    assert set(run.robustness["media"]) == {"grayscale", "tiny", "jpeg"} and "queries" not in run.robustness


def test_audio_retrieval_end_to_end(tiny_clap, sounds, tmp_path, kb):
    report = validate(sounds, models=[str(tiny_clap)], out=tmp_path / "out", db=kb, **FAST)
    (run,) = report.runs
    assert run.status == "ok", run.error
    assert report.dataset["modality"] == "audio" and report.dataset["documents"] == 10
    kinds = run.info["by_query_kind"]
    assert kinds["audio"]["queries"] == 2 and kinds["audio"]["ndcg_at_10"] == 1.0
    bad = {b["file"].split("/")[-1]: b["reason"] for b in report.dataset["bad_file_reasons"]}
    assert set(bad) == {"broken.wav", "song.mp3"} and "only WAV" in bad["song.mp3"]
    edge = run.robustness["edge_cases"]
    assert run.robustness["edge_cases_ok"] == run.robustness["edge_cases_total"] == 7 + 9
    assert edge["not_wav"]["refused"] and edge["silence"]["finite"] and "cosine_to_original" in edge["very_long"]
    assert set(run.robustness["media"]) == {"clipped", "very_short", "very_long"}
    assert run.robustness["queries"]["perturbations"]["clipped"]["applies_to"] == "audio queries"
    assert run.speed["best_docs_per_s"] > 0 and run.info["dimension"] == 16 and run.info["modality"] == "audio"


def test_models_that_cannot_read_the_data_are_refused_and_the_others_go_on(tiny_clip, tiny_clap, photos, sounds,
                                                                          tmp_path, kb):
    from embedwise.errors import ModelRunError
    from embedwise.validators.data import load_data
    from embedwise.validators.media.encoders import make_media_encoder

    images, audio = load_data(photos), load_data(sounds)
    for ref, ds, reason in (("bm25", images, "only local CLIP-family"),
                            ("sentence-transformers/all-MiniLM-L6-v2", images, "does not read images (its inputs: text)"),
                            ("laion/clap-htsat-unfused", images, "does not read images (its inputs: text, audio)"),
                            (str(tiny_clip), audio, "CLAP-family models")):
        with pytest.raises(ModelRunError, match=re.escape(reason)):
            make_media_encoder(ref, ds, db=kb)
    report = validate(photos, models=[str(tiny_clap), str(tiny_clip)], out=tmp_path / "i", db=kb, measure_speed=False,
                      measure_robustness=False, **FAST)
    clap, clip = report.runs
    assert clap.status == "failed" and "audio model (CLAP): it does not read images" in clap.error
    assert clip.status == "ok" and report.best == str(tiny_clip)


def test_cli_audio_classification(tiny_clap, tmp_path, kb):  # kb: the default knowledge base, built once
    from typer.testing import CliRunner

    from embedwise.cli import app

    data = write_audio_classification(tmp_path / "tones")
    result = CliRunner().invoke(app, ["validate", "--data", str(data), "--models", str(tiny_clap), "--json",
                                      "--out", str(tmp_path / "out"), "--speed-sample", "4"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    (run,) = report["runs"]
    assert report["task"] == "classification" and run["status"] == "ok", run["error"]
    assert report["dataset"]["modality"] == "audio" and report["dataset"]["bad_files"] == 1
    assert "accuracy" in run["metrics"] and len(run["per_experiment"]["accuracy"]) == 10
    assert run["speed"]["latency_p50_ms"] > 0 and run["robustness"]["edge_cases_ok"] == 7
    assert any("cut.wav" in n for n in report["dataset"]["notes"])
    assert (tmp_path / "out" / "report.html").exists()

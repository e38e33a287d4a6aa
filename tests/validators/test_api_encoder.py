"""The OpenAI-compatible API encoder against a server the test starts on 127.0.0.1: batching, tokens and cost,
429 with Retry-After, 5xx with backoff, malformed answers, refused requests; the key is never printed nor stored."""
from __future__ import annotations

import json

import numpy as np
import pytest
from fake_openai import FakeOpenAI, vector_for

from embedwise.errors import ModelRunError
from embedwise.validators.encoders import APIEncoder, make_encoder
from embedwise.validators.run import validate

SECRET = "sk-test-DO-NOT-LEAK-12345"


@pytest.fixture(autouse=True)
def api_key(monkeypatch):
    monkeypatch.setenv("EMBEDWISE_API_KEY", SECRET)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)


def encoder(server, **kw) -> tuple[APIEncoder, list[float]]:
    waits: list[float] = []
    enc = APIEncoder("api:fake-embed", "fake-embed", base_url=server.base_url, sleep=waits.append, **kw)
    return enc, waits


def test_batches_tokens_and_order():
    with FakeOpenAI() as server:
        enc, _ = encoder(server, batch_size=3, price_per_million_tokens=0.02)
        texts = [f"text number {i}" for i in range(7)]
        vecs, tokens = enc.embed(texts, role="document")
        assert vecs.shape == (7, 16)
        assert np.allclose(vecs[4], vector_for("text number 4", 16), atol=1e-5)  # index, not order, decides
        bodies = [r["body"] for r in server.requests]
        assert [len(b["input"]) for b in bodies] == [1, 3, 3, 1]  # the load probe, then batches of 3
        assert all(b["model"] == "fake-embed" for b in bodies)
        assert all(r["auth"] == f"Bearer {SECRET}" for r in server.requests)
        assert sum(tokens) == 21 and enc.stats.prompt_tokens == 21 + 1
        assert enc.dimension == 16


def test_429_honours_retry_after():
    with FakeOpenAI(script=["ok", "429:2", "429:0.5", "ok"]) as server:
        enc, waits = encoder(server)
        vecs, _ = enc.embed(["a b", "c d"])
        assert vecs.shape == (2, 16)
        assert waits == [2.0, 0.5]
        assert enc.stats.rate_limited == 2 and enc.stats.retries == 2


def test_500_retries_with_backoff():
    with FakeOpenAI(script=["ok", "500", "503", "ok"]) as server:
        enc, waits = encoder(server, backoff_base=0.25)
        enc.embed(["x"])
        assert enc.stats.server_errors == 2 and len(waits) == 2
        assert 0.125 <= waits[0] <= 0.25 and 0.25 <= waits[1] <= 0.5  # exponential, jittered


def test_5xx_with_retry_after_is_honoured():
    with FakeOpenAI(script=["ok", "503:3"]) as server:
        enc, waits = encoder(server)
        enc.embed(["x"])
        assert waits == [3.0]


def test_malformed_and_short_answers_are_retried():
    with FakeOpenAI(script=["ok", "malformed", "short", "ok"]) as server:
        enc, waits = encoder(server)
        vecs, _ = enc.embed(["a", "b"])
        assert vecs.shape == (2, 16) and enc.stats.malformed == 2


def test_gives_up_after_max_retries():
    with FakeOpenAI(script=["ok"] + ["500"] * 10) as server:
        enc, waits = encoder(server, max_retries=3)
        with pytest.raises(ModelRunError) as info:
            enc.embed(["x"])
        assert "after 4 attempts" in str(info.value) and "HTTP 500" in str(info.value)


def test_retry_after_too_long_fails_fast():
    with FakeOpenAI(script=["ok", "429:3600"]) as server:
        enc, waits = encoder(server, max_retry_after=60)
        with pytest.raises(ModelRunError, match="wait 3600s"):
            enc.embed(["x"])
        assert waits == []


def test_refused_request_never_shows_the_key():
    with FakeOpenAI(script=["ok", "400"], echo_auth_on_400=True) as server:
        enc, _ = encoder(server)
        with pytest.raises(ModelRunError) as info:
            enc.embed(["x"])
        assert "HTTP 400" in str(info.value) and SECRET not in str(info.value) and "***" in str(info.value)


def test_empty_input_is_sent_as_a_space():
    with FakeOpenAI() as server:
        enc, _ = encoder(server)
        vecs, _ = enc.embed(["", "   ", "real"])
        assert vecs.shape == (3, 16) and enc.empty_inputs_replaced == 2


def test_no_key_for_the_default_endpoint(monkeypatch):
    monkeypatch.delenv("EMBEDWISE_API_KEY")
    enc = make_encoder("api:text-embedding-3-small")
    with pytest.raises(ModelRunError, match="no API key"):
        enc.load()


def test_validate_with_api_model_end_to_end(tmp_path, beir_dir, kb):
    """Through validate(): a 429 (Retry-After 0) and a 500 on the way, cost from the price, the key nowhere."""
    with FakeOpenAI(script=["ok", "429:0", "ok", "500"], dim=24) as server:
        enc = APIEncoder("api:fake-embed", "fake-embed", base_url=server.base_url, sleep=lambda s: None,
                         price_per_million_tokens=0.1)
        report = validate(beir_dir, models=["api:fake-embed"], encoders={"api:fake-embed": enc}, out=tmp_path / "out",
                          store=False, use_cache=False, measure_robustness=True,
                          speed_config=__import__("embedwise.validators.load", fromlist=["SpeedConfig"]).SpeedConfig(
                              sample_texts=4, batch_sizes=(2,), concurrency=(1, 4), requests_per_level=4))
    run = report.run("api:fake-embed")
    assert run.status == "ok", run.error
    assert run.kind == "api" and "ndcg_at_10" in run.metrics
    assert run.cost["hosting"] == "api" and run.cost["corpus_usd"] is not None
    assert run.cost["api"]["rate_limited"] >= 1 and run.cost["api"]["server_errors"] >= 1
    assert run.speed["latency"][0]["concurrency"] == 1 and run.speed["latency"][1]["p95_ms"] is not None
    assert run.robustness["edge_cases"]["empty"]["ok"]
    text = (tmp_path / "out" / "report.json").read_text() + (tmp_path / "out" / "report.html").read_text()
    assert SECRET not in text and SECRET not in json.dumps(report.model_dump(mode="json"))


def test_failed_api_model_does_not_stop_the_others(tmp_path, beir_dir, kb):
    with FakeOpenAI(script=["400"]) as server:
        report = validate(beir_dir, models=["api:missing-model"], api_base_url=server.base_url, out=tmp_path / "o",
                          store=False, use_cache=False, measure_speed=False, measure_robustness=False)
    api, bm25 = report.run("api:missing-model"), report.run("bm25")
    assert api.status == "failed" and "HTTP 400" in api.error and SECRET not in api.error
    assert bm25.status == "ok" and bm25.metrics["ndcg_at_10"] > 0


def test_kb_api_models_resolve_provider_endpoint_key_and_price(kb, monkeypatch):
    voyage = make_encoder(next(r["id"] for r in kb.query("SELECT id FROM models WHERE id LIKE 'voyage/%' AND hosting='api'")), db=kb)
    assert isinstance(voyage, APIEncoder) and voyage.base_url == "https://api.voyageai.com/v1"
    assert "VOYAGE_API_KEY" in voyage._key_variables()
    cohere = make_encoder("cohere/embed-english-v3.0", db=kb)
    with pytest.raises(ModelRunError, match="EMBEDWISE_API_BASE_URL"):
        cohere.load()
    openai = make_encoder("openai/text-embedding-3-small", db=kb)
    assert openai.api_model == "text-embedding-3-small" and openai.price_per_million_tokens > 0


def test_kb_api_model_through_a_gateway(kb, beir_dir, tmp_path, monkeypatch):
    with FakeOpenAI() as server:
        monkeypatch.setenv("EMBEDWISE_API_BASE_URL", server.base_url)
        report = validate(beir_dir, models=["openai/text-embedding-3-small"], db=kb, out=tmp_path / "o",
                          measure_speed=False, measure_robustness=False, include_bm25=False)
        assert server.requests[-1]["body"]["model"] == "text-embedding-3-small"
    run = report.runs[0]
    assert run.status == "ok" and run.model_id == "openai/text-embedding-3-small"
    assert run.cost["price_per_million_tokens"] > 0 and run.cost["corpus_usd"] > 0
    assert run.cost["monthly_queries_usd"] > 0


def test_a_server_that_trickles_bytes_hits_the_whole_request_deadline():
    import time

    with FakeOpenAI(script=["trickle", "trickle"]) as server:
        enc, _ = encoder(server, timeout=1.5, max_retries=1)
        start = time.monotonic()
        with pytest.raises(ModelRunError, match="whole request"):
            enc.embed(["a"], role="query")
        assert time.monotonic() - start < 15


def test_credentials_in_the_base_url_are_never_stored():
    from embedwise.validators.encoders.api import public_url

    assert public_url("http://user:KEY123@host:8080/v1?api-key=KEY123&x=1") == "http://host:8080/v1?api-key=***&x=***"
    enc = APIEncoder("api:fake", "fake", base_url="http://user:KEY123@127.0.0.1:1/v1?api-key=KEY123")
    assert "KEY123" not in enc.revision and "KEY123" not in json.dumps(enc.describe())

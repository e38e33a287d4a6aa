"""Local encoders: a tiny BERT the test builds, the real all-MiniLM-L6-v2 from its PyPI package, and BM25."""
from __future__ import annotations

import numpy as np
import pytest

from embedwise.errors import ModelRunError
from embedwise.kb.schema import ModelRecord
from embedwise.validators.cache import EmbeddingCache
from embedwise.validators.encoders import BM25Encoder, SentenceTransformerEncoder, make_encoder


def record(**kw) -> ModelRecord:
    base = dict(id="acme/tiny", name="tiny", provider="acme", modality="text", input_modalities=["text"],
                license="Apache-2.0", commercial_use=True, open_weights=True, hosting="self_host", status="discovered")
    base.update(kw)
    return ModelRecord(**base)


def test_tiny_model_from_a_folder(tiny_model):
    enc = make_encoder(str(tiny_model))
    assert isinstance(enc, SentenceTransformerEncoder) and enc.revision.startswith("local-")
    vecs, tokens = enc.embed(["a cat", "the rocket reaches orbit", "a cat"], role="document")
    assert vecs.shape == (3, 32) and np.allclose(vecs[0], vecs[2])
    assert tokens[0] == 4  # [CLS] a cat [SEP]
    assert enc.max_tokens == 64 and enc.load_seconds is not None and enc.import_seconds is not None


def test_prefixes_from_the_record_are_applied(tiny_model):
    rec = record(query_prefix="query: ", document_prefix="passage: ")
    enc = SentenceTransformerEncoder("acme/tiny", str(tiny_model), record=rec)
    plain = SentenceTransformerEncoder("plain", str(tiny_model))
    q, qt = enc.embed(["a cat"], role="query")
    d, _ = enc.embed(["a cat"], role="document")
    manual, _ = plain.embed(["query: a cat"], role="document")
    assert np.allclose(q, manual, atol=1e-5) and not np.allclose(q, d)
    assert qt[0] > 4  # the prefix's tokens count
    # symmetric tasks: the query prefix when the model has both (e5 style)
    assert enc.prefix_for("symmetric") == "query: " and plain.prefix_for("symmetric") == ""
    assert enc.cache_key("query") != enc.cache_key("document")


def test_trust_remote_code_needs_an_explicit_opt_in(tiny_model, kb):
    rec = record(id="acme/remote-model", hf_id=str(tiny_model), trust_remote_code=True)
    from embedwise.kb.store import write_records

    write_records(kb, [rec])
    with pytest.raises(ModelRunError, match="--trust-remote-code acme/remote-model"):
        make_encoder("acme/remote-model", db=kb)
    enc = make_encoder("acme/remote-model", db=kb, trust_remote_code=["acme/remote-model"])
    assert enc.trust_remote_code is True
    plain = make_encoder(str(tiny_model), db=kb)
    assert plain.trust_remote_code is False


def test_unknown_names_and_bad_folders(tmp_path):
    with pytest.raises(ModelRunError, match="not a knowledge-base id"):
        make_encoder("nonsense")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelRunError, match="config.json"):
        make_encoder(str(tmp_path / "empty"))
    enc = make_encoder("nobody/no-such-model")
    with pytest.raises(ModelRunError, match="could not load"):
        enc.load()


def test_cache_round_trip_skips_the_model(tiny_model, tmp_path):
    cache = EmbeddingCache(tmp_path / "c.sqlite")
    first = make_encoder(str(tiny_model))
    v1, t1 = first.embed(["one", "two", "three"], cache=cache)
    assert cache.misses == 3 and first.loaded
    second = make_encoder(str(tiny_model))
    v2, t2 = second.embed(["three", "one"], cache=cache)
    assert not second.loaded  # every vector came from the cache: the model was never loaded
    assert np.allclose(v2, v1[[2, 0]]) and t2 == [t1[2], t1[0]]
    assert cache.hits == 2
    # another prefix is another key
    second.query_prefix = "q: "
    v3, _ = second.embed(["one"], role="query", cache=cache)
    assert second.loaded and not np.allclose(v3[0], v1[0])


def test_real_minilm_ranks_paraphrases(minilm_path):
    enc = make_encoder("sentence-transformers/all-MiniLM-L6-v2")
    assert enc.source == str(minilm_path)  # the packaged copy: no download
    docs = ["The cat sleeps on the sofa.", "Stock markets fell sharply today.", "How to bake sourdough bread."]
    queries = ["a kitten napping on a couch", "share prices dropped", "bread baking recipe"]
    d, _ = enc.embed(docs, role="document")
    q, _ = enc.embed(queries, role="query")
    assert d.shape == (3, 384)
    sims = q @ d.T
    assert list(sims.argmax(axis=1)) == [0, 1, 2]
    assert enc.max_tokens == 256


def test_bm25_search_and_sparse_vectors():
    enc = BM25Encoder()
    enc.index(["a", "b", "c"], ["cats purr at night", "rockets reach orbit", "bread dough rises"])
    res = enc.search(["why do cats purr", "the"], k=2)
    assert next(iter(res[0])) == "a" and len(res[1]) == 2  # a stopword-only query still answers
    other = BM25Encoder()
    vecs, tokens = other.embed(["cats purr", "cats sleep", "rockets fly"])
    assert vecs.shape[0] == 3 and tokens == [2, 2, 2]
    sim = (vecs @ vecs.T).toarray()
    assert sim[0, 1] > sim[0, 2] == 0

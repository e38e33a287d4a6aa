"""Learned sparse models: a tiny SPLADE built here (a random 2-layer BertForMaskedLM + SPLADE pooling, saved as a
sentence-transformers sparse encoder), resolved and run through the real code: sparse vectors end to end, search
equal to the model's own dot products, the knowledge base's `output: sparse` records, a dense model refused."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from embedwise.errors import ModelRunError
from embedwise.validators.encoders import SentenceTransformerEncoder, make_encoder
from embedwise.validators.encoders.sparse import LearnedSparseEncoder
from embedwise.validators.run import validate


@pytest.fixture(scope="module")
def tiny_splade(tiny_model, tmp_path_factory) -> Path:
    import torch
    from sentence_transformers import SparseEncoder
    from sentence_transformers.sparse_encoder.modules import SpladePooling, Transformer
    from transformers import AutoTokenizer, BertConfig, BertForMaskedLM

    root = tmp_path_factory.mktemp("tiny_splade")
    torch.manual_seed(1)
    BertForMaskedLM(BertConfig.from_pretrained(tiny_model)).save_pretrained(root / "mlm")
    AutoTokenizer.from_pretrained(tiny_model).save_pretrained(root / "mlm")
    # Transformer(transformer_task="fill-mask") is what MLMTransformer became (deprecated in sentence-transformers 5.4)
    model = SparseEncoder(modules=[Transformer(str(root / "mlm"), transformer_task="fill-mask"),
                                   SpladePooling(pooling_strategy="max")], device="cpu")
    model.save(str(root / "splade"))
    return root / "splade"


def test_resolved_as_sparse_and_searches_with_the_models_dot_products(tiny_splade, tiny_model):
    from scipy import sparse
    from sentence_transformers import SparseEncoder

    assert type(make_encoder(str(tiny_model))) is SentenceTransformerEncoder  # a dense folder stays dense
    enc = make_encoder(str(tiny_splade), device="cpu")
    assert isinstance(enc, LearnedSparseEncoder) and enc.kind == "sparse"
    docs = ["cats purr at night", "rockets reach orbit", "bread dough rises with yeast", "the piano has keys"]
    queries = ["why do cats purr", "how is bread made"]
    enc.index(["a", "b", "c", "d"], docs)
    assert sparse.issparse(enc.retriever) and enc.retriever.shape == (4, enc.dimension)
    hits = enc.search(queries, 3)

    model = SparseEncoder(str(tiny_splade), device="cpu")
    q = model.encode_query(queries, convert_to_sparse_tensor=False).numpy()
    d = model.encode_document(docs, convert_to_sparse_tensor=False).numpy()
    expected = q @ d.T
    for row, found in enumerate(hits):
        order = list(np.argsort(-expected[row], kind="stable")[:3])
        assert list(found) == [["a", "b", "c", "d"][i] for i in order]
        assert np.allclose(list(found.values()), expected[row][order], rtol=1e-4)
    vecs, tokens = enc.embed(docs)
    assert sparse.isspmatrix_csr(vecs) and vecs.shape == (4, enc.dimension) and len(tokens) == 4
    assert np.allclose(vecs.toarray(), d, atol=1e-5)
    enc.close()


def test_knowledge_base_sparse_records_resolve_to_the_sparse_encoder(kb, tiny_splade, tiny_model):
    splade = make_encoder("naver/splade-v3", db=kb)  # a hub id: resolved, not loaded (nothing is downloaded)
    assert isinstance(splade, LearnedSparseEncoder) and splade.model_id == "naver/splade-v3"
    assert splade.source == "naver/splade-v3" and splade.max_tokens == 512
    named = make_encoder(f"naver/splade-v3={tiny_splade}", db=kb)
    assert isinstance(named, LearnedSparseEncoder) and named.model_id == "naver/splade-v3"
    with pytest.raises(ModelRunError, match="only dense and learned-sparse"):
        make_encoder("embedwise/bm25", db=kb)  # the BM25 record names no model to load
    # bge-m3's sparse head is not a sentence-transformers module: a dense model would get an untrained head
    bge = make_encoder(f"BAAI/bge-m3-sparse={tiny_model}", db=kb)
    assert isinstance(bge, LearnedSparseEncoder)
    with pytest.raises(ModelRunError, match="no sparse head"):
        bge.load()


def test_a_hub_id_in_the_local_cache_is_identified_as_sparse(tiny_splade, tmp_path, monkeypatch):
    import shutil

    from huggingface_hub import constants

    repo = tmp_path / "hub" / "models--someone--tiny-splade"
    shutil.copytree(tiny_splade, repo / "snapshots" / "0123abcd")
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("0123abcd")
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    enc = make_encoder("someone/tiny-splade", device="cpu")
    assert isinstance(enc, LearnedSparseEncoder) and enc.revision == "0123abcd"
    enc.index(["d0"], ["cats purr"])
    assert list(enc.search(["cats"], 5)[0]) == ["d0"]


def test_validate_runs_it_on_retrieval_and_classification(tiny_splade, beir_dir, cls_dir, tmp_path):
    from embedwise.validators.data import load_data
    from embedwise.validators.metrics import retrieval_metrics

    folder = str(tiny_splade)
    report = validate(beir_dir, models=[folder], out=tmp_path / "r", store=False, measure_speed=False,
                      include_bm25=False, device="cpu")
    (run,) = report.runs
    assert run.status == "ok", run.error
    assert run.kind == "sparse" and run.info["mean_active_dims"] > 0 and run.info["similarity"] == "dot"
    assert run.cache == {"hits": 0, "misses": 0}  # sparse rows are not cached (the cache holds dense rows)
    assert any("not kept in the embedding cache" in n for n in run.notes)
    # the figures are those of the model's own search, scored by pytrec-eval
    ds = load_data(beir_dir)
    enc = make_encoder(folder, device="cpu")
    enc.index(list(ds.corpus), [ds.doc_text(d) for d in ds.corpus])
    results = dict(zip(ds.queries, enc.search(list(ds.queries.values()), 1000)))
    assert run.metrics["ndcg_at_10"] == pytest.approx(retrieval_metrics(ds.qrels, results)[0]["ndcg_at_10"])
    long = run.robustness["edge_cases"]["very_long"]
    assert long["truncated"] and "truncated to the first 64 tokens" in long["handling"]
    assert run.cost["hardware_class"] != "CPU: any (an inverted index)"  # it runs a model, unlike BM25

    cls = validate(cls_dir, models=[folder], out=tmp_path / "c", store=False, measure_speed=False,
                   measure_robustness=False, include_bm25=False, device="cpu", n_experiments=2)
    (crun,) = cls.runs
    assert crun.status == "ok", crun.error
    assert 0.0 <= crun.metrics["accuracy"] <= 1.0 and len(crun.per_experiment["accuracy"]) == 2

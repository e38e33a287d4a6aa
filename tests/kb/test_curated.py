"""The curated knowledge base: it validates, it covers what the issue asks for, and it agrees with its sources.

Offline: mteb's ModelMeta facts and api_pricing.csv prices are copied into tests/data by
tools/curate_from_reference.py, so these tests never need ../shared. When the reference data is present the last
test also checks that re-running the script reproduces the committed YAML.
"""
from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
import yaml

from embedwise.kb.curated_files import curated_files, default_curated_dir, load_curated
from embedwise.kb.licenses import KNOWN_LICENSES, NON_COMMERCIAL
from embedwise.kb.schema import FACT_FIELDS, ModelRecord

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data"
EXPECTED_FILES = {"text_dense", "text_sparse_multivector", "api", "domain", "image", "audio", "multimodal"}

# mteb licence strings whose SPDX id is a plain mapping; anything else must carry a note on the licence source.
MTEB_LICENSE = {"apache-2.0": "Apache-2.0", "mit": "MIT", "cc-by-4.0": "CC-BY-4.0", "cc-by-nc-4.0": "CC-BY-NC-4.0",
                "cc-by-nc-sa-4.0": "CC-BY-NC-SA-4.0", "cc-by-sa-4.0": "CC-BY-SA-4.0", "bsd-3-clause": "BSD-3-Clause",
                "openmdw-1.1": "OpenMDW-1.1", "gemma": "LicenseRef-Gemma"}

# The 60 best complete rows on MTEB(eng, v2) in mteb_scores.csv (results commit f4cc6c8b), as curated ids.
TOP60_ENG_V2 = [
    "voxell/ingot-8b-r3", "Kingsoft-LLM/QZhou-Embedding", "Qwen/Qwen3-Embedding-8B", "bytedance/seed1.5-embedding",
    "infgrad/Jasper-Token-Compression-600M", "Qwen/Qwen3-Embedding-4B", "annamodels/LGAI-Embedding-Preview",
    "bytedance/seed1.6-embedding", "codefuse-ai/F2LLM-4B", "google/gemini-embedding-001", "codefuse-ai/F2LLM-v2-14B",
    "codefuse-ai/F2LLM-v2-8B", "codefuse-ai/F2LLM-v2-4B", "codefuse-ai/F2LLM-1.7B",
    "jinaai/jina-embeddings-v5-omni-small", "jinaai/jina-embeddings-v5-text-small", "IEITYuan/Yuan-embedding-2.0-en",
    "codefuse-ai/F2LLM-v2-1.7B", "NovaSearch/jasper_en_vision_language_v1",
    "KaLM-Embedding/KaLM-embedding-multilingual-mini-instruct-v2.5", "jinaai/jina-embeddings-v5-omni-nano",
    "jinaai/jina-embeddings-v5-text-nano", "ai-sage/Giga-Embeddings-instruct", "Alibaba-NLP/gte-Qwen2-7B-instruct",
    "Qwen/Qwen3-Embedding-0.6B", "GeoGPT-Research-Project/GeoEmbedding",
    "ICT-TIME-and-Querit/ICT-TIME-and-Querit-embedding-v1", "codefuse-ai/F2LLM-0.6B", "codefuse-ai/F2LLM-v2-0.6B",
    "Salesforce/SFR-Embedding-2_R", "nvidia/NV-Embed-v2", "Linq-AI-Research/Linq-Embed-Mistral",
    "google/embeddinggemma-300m", "google/text-embedding-005", "google/text-embedding-004",
    "NovaSearch/stella_en_1.5B_v5", "NovaSearch/stella_en_400M_v5", "Salesforce/SFR-Embedding-Mistral",
    "Tarka-AIR/Tarka-Embedding-350M-V1", "codefuse-ai/F2LLM-v2-330M", "nvidia/NV-Embed-v1",
    "intfloat/e5-mistral-7b-instruct", "KiteFishAI/Nano-Em1-0.6B-v2.1", "google/text-multilingual-embedding-002",
    "BidirLM/BidirLM-Omni-2.5B-Embedding", "Alibaba-NLP/gte-Qwen2-1.5B-instruct", "GritLM/GritLM-7B",
    "WhereIsAI/UAE-Large-V1", "Tarka-AIR/Tarka-Embedding-150M-V1", "mixedbread-ai/mxbai-embed-large-v1",
    "avsolatorio/GIST-large-Embedding-v0", "cohere/embed-english-v3.0", "GritLM/GritLM-8x7B",
    "cohere/embed-multilingual-v3.0", "codefuse-ai/F2LLM-v2-160M", "BAAI/bge-large-en-v1.5",
    "intfloat/multilingual-e5-large-instruct", "avsolatorio/GIST-Embedding-v0", "BAAI/bge-base-en-v1.5",
    "prdev/mini-gte",
]

COVERAGE = {
    "text_dense": [
        "sentence-transformers/all-MiniLM-L6-v2", "sentence-transformers/all-MiniLM-L12-v2",
        "sentence-transformers/all-mpnet-base-v2", "sentence-transformers/multi-qa-MiniLM-L6-cos-v1",
        "sentence-transformers/multi-qa-mpnet-base-dot-v1", "sentence-transformers/multi-qa-distilbert-cos-v1",
        "sentence-transformers/paraphrase-multilingual-MiniLM-L12-v2",
        "sentence-transformers/paraphrase-multilingual-mpnet-base-v2", "sentence-transformers/LaBSE",
        "intfloat/e5-small", "intfloat/e5-base", "intfloat/e5-large", "intfloat/e5-small-v2", "intfloat/e5-base-v2",
        "intfloat/e5-large-v2", "intfloat/multilingual-e5-small", "intfloat/multilingual-e5-base",
        "intfloat/multilingual-e5-large", "intfloat/multilingual-e5-large-instruct",
        "BAAI/bge-small-en-v1.5", "BAAI/bge-base-en-v1.5", "BAAI/bge-large-en-v1.5", "BAAI/bge-m3",
        "BAAI/bge-small-zh-v1.5", "BAAI/bge-base-zh-v1.5", "BAAI/bge-large-zh-v1.5", "BAAI/bge-large-zh",
        "thenlper/gte-small", "thenlper/gte-base", "thenlper/gte-large", "Alibaba-NLP/gte-base-en-v1.5",
        "Alibaba-NLP/gte-large-en-v1.5", "Alibaba-NLP/gte-Qwen2-1.5B-instruct", "Alibaba-NLP/gte-Qwen2-7B-instruct",
        "Alibaba-NLP/gte-multilingual-base", "nomic-ai/nomic-embed-text-v1", "nomic-ai/nomic-embed-text-v1.5",
        "nomic-ai/nomic-embed-text-v2-moe", "jinaai/jina-embeddings-v2-small-en", "jinaai/jina-embeddings-v2-base-en",
        "jinaai/jina-embeddings-v2-base-zh", "jinaai/jina-embeddings-v2-base-de", "jinaai/jina-embeddings-v2-base-es",
        "jinaai/jina-embeddings-v3", "mixedbread-ai/mxbai-embed-large-v1",
        "Snowflake/snowflake-arctic-embed-xs", "Snowflake/snowflake-arctic-embed-s",
        "Snowflake/snowflake-arctic-embed-m", "Snowflake/snowflake-arctic-embed-l",
        "Snowflake/snowflake-arctic-embed-m-v2.0", "Snowflake/snowflake-arctic-embed-l-v2.0",
        "Qwen/Qwen3-Embedding-0.6B", "Qwen/Qwen3-Embedding-4B", "Qwen/Qwen3-Embedding-8B",
        "NovaSearch/stella_en_400M_v5", "NovaSearch/stella_en_1.5B_v5", "nvidia/NV-Embed-v1", "nvidia/NV-Embed-v2",
        "google/embeddinggemma-300m", "ibm-granite/granite-embedding-30m-english",
        "ibm-granite/granite-embedding-125m-english", "ibm-granite/granite-embedding-278m-multilingual",
        "ibm-granite/granite-embedding-english-r2",
    ],
    "text_sparse_multivector": [
        "embedwise/bm25", "naver/splade_v2_max", "naver/splade_v2_distil", "naver/splade-cocondenser-ensembledistil",
        "naver/splade-v3", "BAAI/bge-m3-sparse", "BAAI/bge-m3-colbert", "colbert-ir/colbertv2.0",
        "jinaai/jina-colbert-v1-en", "jinaai/jina-colbert-v2", "answerdotai/answerai-colbert-small-v1",
    ],
    "api": [
        "openai/text-embedding-3-small", "openai/text-embedding-3-large", "openai/text-embedding-ada-002",
        "cohere/embed-english-v3.0", "cohere/embed-multilingual-v3.0", "voyage/voyage-3", "voyage/voyage-3.5",
        "voyage/voyage-3.5-lite", "voyage/voyage-3-large", "google/gemini-embedding-001", "google/text-embedding-005",
        "mistral/mistral-embed", "amazon/titan-embed-text-v1", "amazon/titan-embed-text-v2",
        "jina/jina-embeddings-v3", "nomic/nomic-embed-text-v1.5",
    ],
    "domain": [
        "dmis-lab/biobert-v1.1", "microsoft/BiomedNLP-BiomedBERT-base-uncased-abstract-fulltext",
        "ncbi/MedCPT-Query-Encoder", "ncbi/MedCPT-Article-Encoder", "pritamdeka/S-PubMedBert-MS-MARCO",
        "FremyCompany/BioLORD-2023", "nlpaueb/legal-bert-base-uncased", "voyage/voyage-law-2", "ProsusAI/finbert",
        "yiyanghkust/finbert-pretrain", "voyage/voyage-finance-2", "jinaai/jina-embeddings-v2-base-code",
        "nomic-ai/nomic-embed-code", "codesage/codesage-small", "codesage/codesage-base", "codesage/codesage-large",
        "codesage/codesage-small-v2", "voyage/voyage-code-3", "mistral/codestral-embed", "allenai/specter2_base",
        "malteos/scincl",
    ],
    "image": [
        "openai/clip-vit-base-patch32", "openai/clip-vit-base-patch16", "openai/clip-vit-large-patch14",
        "laion/CLIP-ViT-H-14-laion2B-s32B-b79K", "laion/CLIP-ViT-bigG-14-laion2B-39B-b160k",
        "laion/CLIP-ViT-B-32-laion2B-s34B-b79K", "google/siglip-base-patch16-224", "google/siglip-so400m-patch14-384",
        "google/siglip2-base-patch16-224", "google/siglip2-large-patch16-384", "google/siglip2-so400m-patch14-384",
        "QuanSun/EVA02-CLIP-L-14", "facebook/dinov2-small", "facebook/dinov2-base", "facebook/dinov2-large",
        "facebook/dinov2-giant", "google/vit-base-patch16-224-in21k", "microsoft/resnet-50",
    ],
    "audio": [
        "laion/clap-htsat-unfused", "laion/larger_clap_general", "microsoft/msclap-2023",
        "qiuqiangkong/panns_inference", "facebook/wav2vec2-base-960h", "facebook/wav2vec2-large",
        "facebook/hubert-base-ls960", "facebook/hubert-large-ls960-ft", "microsoft/BEATs", "google/vggish",
    ],
    "multimodal": [
        "jinaai/jina-clip-v1", "jinaai/jina-clip-v2", "nomic-ai/nomic-embed-vision-v1.5", "voyage/voyage-multimodal-3",
        "cohere/embed-v4.0", "nielsr/imagebind-huge", "google-deepmind/magiclens", "vidore/colpali-v1.2",
        "vidore/colpali-v1.3", "vidore/colqwen2-v1.0",
    ],
}


@pytest.fixture(scope="module")
def records() -> dict[str, ModelRecord]:
    return {r.id: r for r in load_curated()}


@pytest.fixture(scope="module")
def by_file() -> dict[str, list[dict]]:
    return {p.stem: yaml.safe_load(p.read_text(encoding="utf-8"))["models"] for p in curated_files()}


@pytest.fixture(scope="module")
def mteb_subset() -> dict[str, dict]:
    return json.loads((DATA / "mteb_meta_subset.json").read_text())


@pytest.fixture(scope="module")
def price_subset() -> dict[str, dict]:
    return json.loads((DATA / "api_pricing_subset.json").read_text())


def test_the_files_split_by_kind(by_file):
    assert set(by_file) == EXPECTED_FILES


def test_every_record_validates_with_model_record(by_file):
    for name, models in by_file.items():
        assert models, f"{name}.yaml is empty"
        for data in models:
            ModelRecord.model_validate(data)


def test_at_least_250_models_with_unique_ids(by_file, records):
    ids = [m["id"] for models in by_file.values() for m in models]
    dupes = [i for i, n in Counter(ids).items() if n > 1]
    assert not dupes
    assert len(ids) >= 250
    assert len(records) == len(ids)


@pytest.mark.parametrize("group", sorted(COVERAGE))
def test_coverage_list_is_present(records, group):
    missing = [i for i in COVERAGE[group] if i not in records]
    assert not missing, f"{group}: missing {missing}"


def test_top_60_of_mteb_eng_v2_are_curated_with_their_score(records):
    assert len(TOP60_ENG_V2) == 60
    missing = [i for i in TOP60_ENG_V2 if i not in records]
    assert not missing
    for model_id in TOP60_ENG_V2:
        means = [s for s in records[model_id].scores
                 if s.benchmark == "MTEB(eng, v2)" and s.task == "Mean (Task)" and s.comparable]
        assert len(means) == 1, model_id
    values = [next(s.value for s in records[i].scores if s.benchmark == "MTEB(eng, v2)" and s.task == "Mean (Task)")
              for i in TOP60_ENG_V2]
    assert values == sorted(values, reverse=True)


def test_kinds_match_their_files(by_file):
    for m in by_file["text_dense"]:
        assert "text" in m["input_modalities"] and m.get("output", "dense") == "dense", m["id"]
    for m in by_file["text_sparse_multivector"]:
        assert m["modality"] == "text" and m["output"] in ("sparse", "multi_vector"), m["id"]
    for m in by_file["api"]:
        assert m["hosting"] in ("api", "both") and m.get("api_name"), m["id"]
    for m in by_file["image"]:
        assert "image" in m["input_modalities"], m["id"]
    for m in by_file["audio"]:
        assert "audio" in m["input_modalities"], m["id"]


def test_conventions(records):
    for r in records.values():
        if r.hosting == "api":
            assert r.api_name, r.id
            assert r.id == r.id.lower(), f"API ids are lower case: {r.id}"
        if r.open_weights and r.hosting != "api" and r.hf_id is None:
            # weights published outside the hub: the record must say where
            assert any(s.ref.startswith("https://github.com/") for s in r.sources.values()), r.id
        assert r.license in KNOWN_LICENSES
        if r.license in NON_COMMERCIAL:
            assert r.commercial_use is False, r.id
        if r.output == "sparse" and r.id != "embedwise/bm25":
            assert r.dimensions and r.dimensions[0] >= 10_000, f"{r.id}: sparse dims are the vocabulary size"
        if r.output == "multi_vector":
            assert r.similarity == "max_sim", r.id
        if r.modality != "multimodal":
            assert r.input_modalities == [r.modality], r.id
        else:
            assert len(r.input_modalities) >= 2, r.id


def test_matryoshka_and_prefix_examples(records):
    assert records["openai/text-embedding-3-small"].dimensions == [1536, 1024, 512, 256]
    assert records["nomic-ai/nomic-embed-text-v1.5"].dimensions == [768, 512, 256, 128, 64]
    assert records["BAAI/bge-m3"].dimensions == [1024]
    assert records["BAAI/bge-m3"].languages == [] and "100+" in records["BAAI/bge-m3"].languages_claim
    assert records["BAAI/bge-m3"].languages_basis == "card" and records["BAAI/bge-m3"].multilingual
    assert records["intfloat/e5-base-v2"].query_prefix == "query: "
    assert records["intfloat/e5-base-v2"].document_prefix == "passage: "
    assert records["BAAI/bge-base-en-v1.5"].query_prefix == "Represent this sentence for searching relevant passages: "
    assert records["nomic-ai/nomic-embed-text-v1.5"].query_prefix == "search_query: "
    assert records["nomic-ai/nomic-embed-text-v1.5"].document_prefix == "search_document: "
    assert records["nomic-ai/nomic-embed-text-v1.5"].trust_remote_code
    assert records["jinaai/jina-embeddings-v3"].hosting == "both"
    assert records["jinaai/jina-embeddings-v3"].commercial_use is False
    assert records["BAAI/bge-m3-sparse"].hf_id == records["BAAI/bge-m3-colbert"].hf_id == "BAAI/bge-m3"
    bm25 = records["embedwise/bm25"]
    assert (bm25.provider, bm25.output, bm25.similarity, bm25.hosting, bm25.multilingual, bm25.languages) == (
        "embedwise", "sparse", "bm25", "self_host", False, ["eng"])


def test_known_reference_errors_are_corrected_with_a_note(records):
    cases = {
        ("cohere/embed-multilingual-v3.0", "dimensions"): 1024,
        ("Alibaba-NLP/gte-Qwen2-1.5B-instruct", "dimensions"): 1536,
    }
    for (model_id, field), default in cases.items():
        r = records[model_id]
        assert r.dimensions[0] == default
        assert r.sources[field].note and "mteb" in r.sources[field].note
    v35 = records["voyage/voyage-3.5"]
    assert str(v35.release_date) == "2025-05-20" and "2025-01-21" in v35.sources["release_date"].note


def _has_note(record: ModelRecord, field: str) -> bool:
    src = record.sources.get(field)
    return bool(src and src.note)


def test_curated_models_agree_with_mteb_model_meta(records, mteb_subset):
    """dims (default), parameters, max tokens and licence match mteb's ModelMeta unless a source note explains."""
    assert len(mteb_subset) >= 200
    problems = []
    for model_id, meta in mteb_subset.items():
        r = records[model_id]
        dim = meta["embed_dim"]
        if isinstance(dim, list):
            dim = max(dim)
        if dim and r.dimensions and r.dimensions[0] != dim and not _has_note(r, "dimensions"):
            problems.append(f"{model_id}: dimensions {r.dimensions[0]} != mteb {dim}")
        if meta["n_parameters"] and r.parameters != meta["n_parameters"] and not _has_note(r, "parameters"):
            problems.append(f"{model_id}: parameters {r.parameters} != mteb {meta['n_parameters']}")
        mt = meta["max_tokens"]
        if mt is not None and math.isfinite(mt) and r.max_tokens != int(mt) and not _has_note(r, "max_tokens"):
            problems.append(f"{model_id}: max_tokens {r.max_tokens} != mteb {mt}")
        lic = meta["license"]
        if lic is not None:
            expected = MTEB_LICENSE.get(lic)
            if r.license != expected and not _has_note(r, "license"):
                problems.append(f"{model_id}: licence {r.license} != mteb {lic}")
        if meta["open_weights"] is not None and r.open_weights != meta["open_weights"] and not _has_note(
                r, "open_weights"):
            problems.append(f"{model_id}: open_weights {r.open_weights} != mteb {meta['open_weights']}")
    assert not problems, "\n".join(problems)


def test_mteb_facts_keep_their_provenance(records, mteb_subset):
    for model_id, meta in mteb_subset.items():
        r = records[model_id]
        for field in ("parameters", "max_tokens"):
            src = r.sources.get(field)
            if src and not src.note:
                assert src.ref.startswith("mteb ") and meta["mteb_name"] in src.ref, (model_id, field)


def test_api_models_have_the_reference_price(records, price_subset):
    assert price_subset
    for model_id, row in price_subset.items():
        r = records[model_id]
        src = r.sources.get("price_per_million_tokens")
        assert src is not None, model_id
        if "api_pricing.csv" in src.ref and row["usd_per_1M"] is not None:
            assert r.price_per_million_tokens == pytest.approx(row["usd_per_1M"]), model_id
        elif "api_pricing.csv" not in src.ref:
            assert src.confidence is not None, f"{model_id}: a checked price says how sure it is"
    assert records["openai/text-embedding-3-small"].price_per_million_tokens == 0.02
    assert records["voyage/voyage-3.5"].price_per_million_tokens == 0.06


def test_every_api_model_is_priced_or_says_there_is_no_public_price(records):
    for r in records.values():
        if r.hosting not in ("api", "both"):
            continue
        src = r.sources.get("price_per_million_tokens")
        assert src is not None, f"{r.id}: no source for its price (or for the absence of one)"
        if r.price_per_million_tokens is None:
            assert r.price_status == "no_public_price", r.id
        else:
            assert r.price_date is not None and r.price_status == "listed", r.id
    batch = [r for r in records.values() if r.batch_price_per_million_tokens is not None]
    assert batch and all(b.batch_price_per_million_tokens <= b.price_per_million_tokens for b in batch)
    assert records["google/text-embedding-004"].lifecycle == "retired"
    assert records["google/text-embedding-004"].replacement


def test_every_fact_has_a_source(by_file):
    for models in by_file.values():
        for data in models:
            record = ModelRecord.model_validate(data)
            for field in FACT_FIELDS:
                if field in data and data[field] not in (None, []):
                    assert field in record.sources, f"{data['id']}: {field} has no source"
            for src in record.sources.values():
                assert src.ref and src.date is not None
            for score in record.scores:
                assert score.source and "f4cc6c8b365a3c779dbc708d6affe0b0355b2ddf" in score.source, data["id"]


def test_scores_follow_the_convention(records):
    for r in records.values():
        for s in r.scores:
            if s.task_type == "Mean":
                assert s.task in ("Mean (Task)", "Mean (TaskType)", "Mean (Public)")
                if not s.comparable:
                    assert "partial" in s.source
            if s.benchmark == "MTEB":
                assert s.task_type == "Retrieval" and s.metric == "ndcg_at_10"
            assert -100 <= s.value <= 100


def test_shipped_as_package_data():
    assert Path(default_curated_dir()).is_dir()
    assert {p.stem for p in curated_files()} == EXPECTED_FILES


# The reference data sits beside the checkout (../shared) in a working copy, at /work/shared on the team's machines.
REFERENCE = next((p for p in (Path(os.environ.get("EMBEDWISE_REFERENCE", ROOT.parent / "shared" / "data" / "reference")),
                              Path("/work/shared/data/reference")) if (p / "mteb_model_meta.json").exists()),
                 ROOT.parent / "shared" / "data" / "reference")


@pytest.mark.skipif(not (REFERENCE / "mteb_model_meta.json").exists(), reason="reference data not available")
def test_the_script_reproduces_the_committed_files():
    result = subprocess.run([sys.executable, str(ROOT / "tools" / "curate_from_reference.py"), "--check"],
                            capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stderr

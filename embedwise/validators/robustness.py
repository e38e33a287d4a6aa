"""Robustness: edge-case inputs never crash a run, and perturbed inputs show how far embeddings and quality move.

Edge cases: empty, whitespace only, far over the model's max length, emoji, right-to-left scripts, mixed languages,
HTML, code, control characters. Each is encoded alone; the report says whether it worked, how many tokens it has,
whether it was truncated (more tokens than the model reads), and whether the vector is finite.

Perturbations (seeded): typos (two adjacent letters swapped in some words), casing (upper case), punctuation
(removed, and a stray "?!" added). For each: the mean cosine between a text's original and perturbed embedding, and
for retrieval the NDCG@10 of the perturbed queries against the original ones.
"""
from __future__ import annotations

import random
import re
import string
from typing import Any, Callable, Sequence

import numpy as np

Progress = Callable[[str, int, int], None]

LONG_PARAGRAPH = ("Embedding models read a bounded number of tokens and silently drop the rest, so a long document "
                  "is represented by its beginning only. ")

EDGE_CASES: dict[str, str] = {
    "empty": "",
    "whitespace_only": "   \n\t  ",
    "very_long": LONG_PARAGRAPH * 400,  # ~8,000 words: far over any usual max length
    "emoji": "🚀🔥 Loved it!!! 👍🏽👍🏽 would buy again 😍🙌",
    "right_to_left": "مرحبا بكم في متجرنا، كيف يمكننا مساعدتك اليوم؟ שלום, איך אפשר לעזור?",
    "mixed_languages": "The meeting 会议 est prévue à 15h, bitte pünktlich sein — спасибо!",
    "html": "<div class=\"card\"><h1>Refund policy</h1><p>Returns within <b>30 days</b>.</p>"
            "<script>alert('x')</script></div>",
    "code": "def cosine(a, b):\n    return a @ b / (np.linalg.norm(a) * np.linalg.norm(b))  # similarity",
    "control_characters": "tab\tnul\x00bell\x07 zero\u200bwidth",
}

PERTURBATIONS = ("typos", "casing", "punctuation")


def perturb(text: str, kind: str, rng: random.Random) -> str:
    if kind == "casing":
        return text.upper() if text != text.upper() else text.lower()
    if kind == "punctuation":
        stripped = text.translate(str.maketrans("", "", string.punctuation))
        return stripped.rstrip() + " ?!"
    if kind == "typos":
        words = text.split(" ")
        out = []
        for w in words:
            if len(w) > 3 and w.isalpha() and rng.random() < 0.3:
                i = rng.randrange(1, len(w) - 2)
                w = w[:i] + w[i + 1] + w[i] + w[i + 2:]
            out.append(w)
        result = " ".join(out)
        if result == text:  # make sure at least one typo lands
            m = re.search(r"[A-Za-z]{4,}", text)
            if m:
                w = m.group(0)
                result = text.replace(w, w[0] + w[2] + w[1] + w[3:], 1)
        return result
    raise ValueError(kind)


def _cosine_rows(a: Any, b: Any) -> np.ndarray:
    from sklearn.metrics.pairwise import paired_cosine_distances

    return 1.0 - paired_cosine_distances(a, b)


def edge_cases(encoder: Any, progress: Progress | None = None, stage: str = "robustness", cache: Any = None) -> dict:
    progress = progress or (lambda s, d, t: None)
    out: dict[str, dict] = {}
    cases = list(EDGE_CASES.items())
    for n, (name, text) in enumerate(cases):
        entry: dict[str, Any] = {"chars": len(text)}
        try:
            if encoder.kind == "sparse":
                tokens = encoder.count_tokens([text])[0]
                hits = encoder.search([text], 10) if getattr(encoder, "retriever", None) is not None else None
                limit = encoder.max_tokens  # none for BM25; a learned sparse model reads its first max_tokens
                truncated = bool(limit and tokens > limit)
                handling = ((f"truncated to the first {limit} tokens (of {tokens})" if truncated else "whole text read")
                            if limit else "keyword tokens; no length limit" if tokens else
                            "no keyword tokens: matches nothing")
                entry.update({"ok": True, "tokens": tokens, "truncated": truncated, "handling": handling,
                              "results": len(hits[0]) if hits else None})
            else:
                vec, toks = encoder.embed([text], role="query", cache=cache)
                finite = bool(np.isfinite(vec).all())
                if encoder.max_tokens is None and not encoder.loaded:
                    encoder.load()  # a cached vector does not tell the model's max length
                max_tokens = encoder.max_tokens
                truncated = bool(max_tokens and toks[0] > max_tokens)
                handling = ("truncated to the first %d tokens (of %d)" % (max_tokens, toks[0])) if truncated else "whole text read"
                if encoder.kind == "api" and not text.strip():
                    handling = "sent as a single space (the API refuses empty input)"
                entry.update({"ok": finite, "tokens": int(toks[0]), "truncated": truncated, "finite": finite,
                              "norm": round(float(np.linalg.norm(vec[0])), 4), "handling": handling})
                if not finite:
                    entry["error"] = "the embedding has NaN or infinite values"
        except Exception as exc:  # the point: never crash the run
            entry.update({"ok": False, "error": f"{type(exc).__name__}: {str(exc)[:300]}"})
        out[name] = entry
        progress(stage, n + 1, len(cases))
    return out


def perturbation_shift(encoder: Any, texts: Sequence[str], role: str, cache: Any = None, seed: int = 42,
                       progress: Progress | None = None, stage: str = "robustness") -> dict:
    """Mean/min cosine between original and perturbed embeddings, per perturbation."""
    rng = random.Random(seed)
    texts = [t for t in texts if t.strip()]
    if not texts:
        return {}
    base, _ = encoder.embed(texts, role=role, cache=cache)
    out = {}
    for kind in PERTURBATIONS:
        perturbed = [perturb(t, kind, rng) for t in texts]
        vecs, _ = encoder.embed(perturbed, role=role, cache=cache, progress=progress, stage=f"{stage} ({kind})")
        cos = _cosine_rows(base, vecs)
        out[kind] = {"mean_cosine": round(float(np.mean(cos)), 4), "min_cosine": round(float(np.min(cos)), 4),
                     "texts": len(texts)}
    return out


def retrieval_robustness(encoder: Any, query_ids: Sequence[str], queries: Sequence[str], qrels: dict,
                         search: Callable[[list[str]], dict[str, dict[str, float]]], cache: Any = None,
                         seed: int = 42, progress: Progress | None = None, stage: str = "robustness") -> dict:
    """NDCG@10 of perturbed queries against the original ones on the same sampled queries; `search(texts)` returns
    results keyed by the given query ids (in order)."""
    from embedwise.validators.metrics import retrieval_metrics

    rng = random.Random(seed)
    sub_qrels = {q: qrels[q] for q in query_ids}
    original, _ = retrieval_metrics(sub_qrels, search(list(queries)))
    out: dict[str, Any] = {"queries": len(query_ids), "ndcg_at_10": round(original["ndcg_at_10"], 5)}
    shifts: dict[str, Any] = {}
    if encoder.kind != "sparse":
        base, _ = encoder.embed(list(queries), role="query", cache=cache)
    for n, kind in enumerate(PERTURBATIONS):
        perturbed = [perturb(t, kind, rng) for t in queries]
        m, _ = retrieval_metrics(sub_qrels, search(perturbed))
        entry = {"ndcg_at_10": round(m["ndcg_at_10"], 5),
                 "ndcg_drop": round(original["ndcg_at_10"] - m["ndcg_at_10"], 5),
                 "relative_drop": round((original["ndcg_at_10"] - m["ndcg_at_10"]) / original["ndcg_at_10"], 4)
                 if original["ndcg_at_10"] else None}
        if encoder.kind != "sparse":
            vecs, _ = encoder.embed(perturbed, role="query", cache=cache)
            entry["mean_cosine"] = round(float(np.mean(_cosine_rows(base, vecs))), 4)
        shifts[kind] = entry
        if progress:
            progress(stage, n + 1, len(PERTURBATIONS))
    out["perturbations"] = shifts
    return out

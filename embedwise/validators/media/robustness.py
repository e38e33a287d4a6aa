"""Robustness on image and audio data: awkward files never crash a run, and changed inputs show how far embeddings and
results move.

Edge cases, each read alone: images damaged, empty, 1x1, huge (a 12-megapixel long side), grayscale and fully
transparent; audio damaged, empty, not WAV, silent, clipped, very short (50 ms) and very long (5 minutes). A damaged
or unsupported file is `ok` when it is refused with its reason before any model runs (as the loader does); every
other case is `ok` when it gives a finite vector, with its cosine to the unchanged file where it is a variant of one.
Where the data has text queries, the text edge cases (`validators.robustness.EDGE_CASES`) run on the text side too.

Perturbations (seeded sample): images grayscale, tiny (16 px) and recompressed as a low-quality JPEG; audio clipped,
very short and very long; text queries typos, casing and punctuation. For documents: the cosine between a file's
embedding and its changed version's; for retrieval queries also NDCG@10 of the changed queries against the unchanged
ones (the same queries).
"""
from __future__ import annotations

import io
import random
from collections.abc import Callable
from typing import Any

import numpy as np

from embedwise.validators.media.decode import Media, MediaError, check

Progress = Callable[[str, int, int], None]

# "huge" is an edge case only: enlarged, then shrunk again by the processor, a picture barely moves but costs seconds
PERTURBATIONS = {"image": ("grayscale", "tiny", "jpeg"), "audio": ("clipped", "very_short", "very_long"),
                 "text": ("typos", "casing", "punctuation")}


def _png(mode: str, size: tuple[int, int], color: Any) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new(mode, size, color).save(buf, format="PNG")
    return buf.getvalue()


def _edge_items(modality: str, reference: Media) -> dict[str, Media]:
    if modality == "image":
        return {"corrupt_file": Media.from_bytes("image", b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4, "corrupt.png"),
                "empty_file": Media.from_bytes("image", b"", "empty.png"),
                "tiny_1x1": Media.from_bytes("image", _png("RGB", (1, 1), (200, 30, 30)), "tiny_1x1.png"),
                "huge": reference.with_variant("huge"),
                "grayscale": reference.with_variant("grayscale"),
                "transparent": Media.from_bytes("image", _png("RGBA", (64, 64), (0, 0, 0, 0)), "transparent.png")}
    return {"corrupt_file": Media.from_bytes("audio", b"RIFF\x24\x00\x00\x00WAVEfmt " + bytes(64), "corrupt.wav"),
            "empty_file": Media.from_bytes("audio", b"", "empty.wav"),
            "not_wav": Media.from_bytes("audio", b"ID3\x03\x00\x00\x00" + bytes(128), "clip.mp3"),
            "silence": reference.with_variant("silence"),
            "clipped": reference.with_variant("clipped"),
            "very_short": reference.with_variant("very_short"),
            "very_long": reference.with_variant("very_long")}


def _cosine(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    na = np.linalg.norm(a, axis=1)
    nb = np.linalg.norm(b, axis=1)
    return (a * b).sum(axis=1) / np.maximum(na * nb, 1e-12)


def edge_cases(enc: Any, ds: Any, ctx: Any, reference: Media, progress: Progress) -> dict:
    out: dict[str, dict] = {}
    items = _edge_items(ds.modality, reference)
    ref_vec, _ = enc.embed([reference], "document", ctx.cache)
    for n, (name, item) in enumerate(items.items()):
        entry: dict[str, Any] = {"file": item.label if item.variant is None else f"{reference.label} ({item.variant})"}
        try:
            check(item)  # refused here, as at load, before any model is asked
        except MediaError as exc:
            entry.update({"ok": True, "refused": True, "handling": f"refused with a reason: {exc}"})
        else:
            try:
                vec, _ = enc.embed([item], "document", ctx.cache)
                finite = bool(np.isfinite(vec).all())
                entry.update({"ok": finite, "finite": finite, "norm": round(float(np.linalg.norm(vec[0])), 4),
                              "handling": "embedded"})
                if item.variant is not None and finite:
                    cos = round(float(_cosine(vec, ref_vec)[0]), 4)
                    entry["cosine_to_original"] = cos
                    entry["handling"] = f"embedded; cosine {cos} to the unchanged file"
                if not finite:
                    entry["error"] = "the embedding has NaN or infinite values"
            except Exception as exc:  # the point: never crash the run
                entry.update({"ok": False, "error": f"{type(exc).__name__}: {str(exc)[:300]}"})
        out[name] = entry
        progress("edge cases", n + 1, len(items))
    return out


def _perturb(item: Media, kind: str, rng: random.Random) -> Media:
    if item.kind == "text":
        from embedwise.validators.robustness import perturb

        return Media.text(perturb(str(item), kind, rng))
    return item.with_variant(kind)


def media_shift(enc: Any, items: list[Media], ctx: Any, modality: str) -> dict:
    """Mean/min cosine between each file's embedding and its changed version's, per perturbation."""
    if not items:
        return {}
    base, _ = enc.embed(items, "document", ctx.cache)
    out = {}
    for kind in PERTURBATIONS[modality]:
        vecs, _ = enc.embed([i.with_variant(kind) for i in items], "document", ctx.cache)
        cos = _cosine(base, vecs)
        out[kind] = {"mean_cosine": round(float(np.mean(cos)), 4), "min_cosine": round(float(np.min(cos)), 4),
                     "items": len(items)}
    return out


def query_shift(enc: Any, ds: Any, ctx: Any, state: dict, picked: list[int], progress: Progress) -> dict:
    """NDCG@10 of changed queries against the unchanged ones, per perturbation, on the sampled queries it applies to."""
    from embedwise.validators.metrics import retrieval_metrics

    rng = random.Random(ctx.seed)
    ids = [state["query_ids"][i] for i in picked]
    base_ndcg = state["per_query"]["ndcg_at_10"]
    out: dict[str, Any] = {"queries": len(ids),
                           "ndcg_at_10": round(float(np.mean([base_ndcg.get(q, 0.0) for q in ids])), 5) if ids else 0.0}
    kinds = [(k, p) for k in sorted({state["queries"][i].kind for i in picked}) for p in PERTURBATIONS[k]]
    shifts: dict[str, Any] = {}
    for n, (kind, name) in enumerate(kinds):
        rows = [i for i in picked if state["queries"][i].kind == kind]
        sub = [state["query_ids"][i] for i in rows]
        changed = [_perturb(state["queries"][i], name, rng) for i in rows]
        vecs, _ = enc.embed(changed, "query", ctx.cache)
        m, _ = retrieval_metrics({q: ds.qrels[q] for q in sub},
                                 ctx.backend.search(vecs, state["doc_vecs"], sub, state["doc_ids"]))
        before = float(np.mean([base_ndcg.get(q, 0.0) for q in sub]))
        shifts[name] = {"applies_to": f"{kind} queries", "queries": len(sub), "ndcg_at_10": round(m["ndcg_at_10"], 5),
                        "ndcg_drop": round(before - m["ndcg_at_10"], 5),
                        "relative_drop": round((before - m["ndcg_at_10"]) / before, 4) if before else None,
                        "mean_cosine": round(float(np.mean(_cosine(state["query_vecs"][rows], vecs))), 4)}
        progress("perturbed queries", n + 1, len(kinds))
    out["perturbations"] = shifts
    return out


def measure(enc: Any, ds: Any, ctx: Any, state: dict, stage: Callable[[str], Progress]) -> dict:
    rng = random.Random(ctx.seed)
    docs: list[Media] = state["docs"]
    edge = edge_cases(enc, ds, ctx, docs[0], stage("edge cases"))
    queries: list[Media] = state.get("queries") or []
    if any(q.kind == "text" for q in queries):
        from embedwise.validators.robustness import edge_cases as text_edge_cases

        edge.update({f"text_{k}": v for k, v in text_edge_cases(enc, stage("edge cases"), "edge cases",
                                                                  cache=ctx.cache).items()})
    n = ctx.robustness_sample
    out: dict[str, Any] = {"edge_cases": edge, "edge_cases_ok": sum(1 for e in edge.values() if e.get("ok")),
                           "edge_cases_total": len(edge)}
    out["media"] = media_shift(enc, [docs[i] for i in sorted(rng.sample(range(len(docs)), min(n, len(docs))))], ctx,
                               ds.modality)
    if queries:
        picked = sorted(rng.sample(range(len(queries)), min(n, len(queries))))
        out["queries"] = query_shift(enc, ds, ctx, state, picked, stage("perturbed queries"))
    return out

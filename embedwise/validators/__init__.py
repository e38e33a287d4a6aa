"""The validators: benchmark models on the user's own data (quality with MTEB's metrics, speed and memory under load,
robustness, cost).

The entry point is `embedwise.validators.run.validate(data, models=[...], progress=callback)`, which returns a
pydantic `Report` (`report.runs[i].model / status / metrics / speed / robustness / cost`). Modules:

- `data`: load and detect the data (BEIR folder or CSV retrieval, classification, STS, clustering, a bare corpus made
  into a synthetic retrieval set); malformed files raise `BadInput` with file:line;
- `encoders`: sentence-transformers models, BM25 (bm25s), OpenAI-compatible APIs behind one protocol;
- `metrics`, `load`, `robustness`, `cost`, `cache`: the measurements and the embedding cache;
- `run`: the orchestration; `report`: terminal, Markdown, HTML (inline SVG charts) and JSON.

Nothing here imports torch or sentence-transformers at import time: they load inside the functions that run a model.
"""

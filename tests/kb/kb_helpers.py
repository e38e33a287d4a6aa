from __future__ import annotations

import textwrap
from pathlib import Path


SOURCE = '{ref: "https://huggingface.co/example", date: 2026-11-01}'

GOOD = """\
models:
  - id: acme/tiny-en
    name: tiny-en
    provider: acme
    description: a small English model for semantic search
    tags: [small, matryoshka]
    modality: text
    input_modalities: [text]
    languages: [eng]
    license: Apache-2.0
    commercial_use: true
    open_weights: true
    hosting: self_host
    parameters: 22000000
    dimensions: [384, 128]
    max_tokens: 256
    scores:
      - {benchmark: "MTEB(eng, v2)", task_type: Mean, task: "Mean (Task)", metric: main_score, value: 56.1, comparable: true, source: results}
      - {benchmark: "MTEB(eng, v2)", task_type: Retrieval, task: mean, metric: main_score, value: 41.0, comparable: true, source: results}
    sources:
      "provider, modality, input_modalities, languages, license, commercial_use, open_weights, hosting, parameters, dimensions, max_tokens, trust_remote_code, safetensors": SRC
  - id: acme/big-multi
    name: big-multi
    provider: acme
    description: a large multilingual legal model
    modality: text
    input_modalities: [text]
    domains: [legal, general]
    languages: [eng, zho, deu]
    multilingual: true
    license: CC-BY-NC-4.0
    commercial_use: false
    open_weights: true
    hosting: self_host
    parameters: 7000000000
    memory_mb: 26703
    dimensions: [4096]
    max_tokens: 32768
    trust_remote_code: true
    scores:
      - {benchmark: "MTEB(eng, v2)", task_type: Mean, task: "Mean (Task)", metric: main_score, value: 70.2, comparable: true, source: results}
      - {benchmark: "MTEB(eng, v2)", task_type: Retrieval, task: mean, metric: main_score, value: 58.0, comparable: true, source: results}
    sources:
      "provider, modality, input_modalities, domains, languages, multilingual, license, commercial_use, open_weights, hosting, parameters, memory_mb, dimensions, max_tokens, trust_remote_code, safetensors": SRC
  - id: acme/embed-api
    name: acme embed API
    provider: acme
    modality: text
    input_modalities: [text]
    languages: [eng, fra]
    license: proprietary
    commercial_use: true
    open_weights: false
    hosting: api
    api_name: embed-1
    dimensions: [1024, 512, 256]
    max_tokens: 8192
    price_per_million_tokens: 0.1
    price_date: 2026-06-01
    sources:
      "provider, modality, input_modalities, languages, license, commercial_use, open_weights, hosting, api_name, dimensions, max_tokens, price_per_million_tokens": SRC
""".replace("SRC", SOURCE)


def write_curated(directory: Path, text: str = GOOD, name: str = "models.yaml") -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return directory

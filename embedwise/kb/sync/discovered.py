"""A discovered model: the knowledge base record the sync builds from a model's hub facts alone."""
from __future__ import annotations

import datetime as dt
from typing import Any

from embedwise.kb.sync.values import SOURCE_NOTE, hub_license_to_spdx


def discovered_record(facts: Any, url: str, today: str) -> Any:
    """The `ModelRecord` of a discovered model, built from its hub facts only, every fact sourced to its hub page
    (`url`, read on `today`). Raises pydantic's ValidationError when the facts make no valid record."""
    from embedwise.kb.languages import normalise_language
    from embedwise.kb.licenses import COPYLEFT, PERMISSIVE
    from embedwise.kb.schema import ModelRecord, Source

    tags = facts.tags
    languages: list[str] = []
    for t in tags:
        if len(t) == 2 and t.isalpha():
            try:
                languages.append(normalise_language(t))
            except ValueError:
                pass
    multimodal = bool({"clip", "multimodal", "image-feature-extraction", "vision"} & set(tags))
    spdx = hub_license_to_spdx(facts.license_tag) or "LicenseRef-Unknown"
    owner, _, name = facts.hf_id.rpartition("/")
    src = Source(ref=url, date=dt.date.fromisoformat(today), note=SOURCE_NOTE)
    data: dict = {
        "id": facts.hf_id, "name": name, "provider": owner or "unknown", "hf_id": facts.hf_id,
        "status": "discovered",
        "description": f"Discovered on the Hugging Face Hub ({facts.pipeline_tag or 'no pipeline tag'}, "
                       f"{facts.library or 'no library'}); not curated: check before relying on it.",
        "tags": [t for t in tags if not t.startswith(("license:", "region:", "base_model:"))][:64],
        "modality": "multimodal" if multimodal else "text",
        "input_modalities": ["text", "image"] if multimodal else ["text"],
        "languages": languages, "multilingual": "multilingual" in tags or len(set(languages)) > 3,
        "license": spdx, "commercial_use": spdx in PERMISSIVE or spdx in COPYLEFT,
        "open_weights": True, "hosting": "self_host",
        "parameters": facts.parameters, "safetensors": True if facts.parameters is not None else None,
        "trust_remote_code": "custom_code" in tags,
    }
    sourced = ["provider", "hf_id", "modality", "input_modalities", "multilingual", "license", "commercial_use",
               "open_weights", "hosting", "trust_remote_code"]
    sourced += [f for f in ("languages", "parameters", "safetensors") if data[f]]
    return ModelRecord(**data, sources={f: src for f in sourced})

"""The one definition of a model record in the knowledge base.

Curated YAML files, the SQLite store, the hub sync and every command read and write `ModelRecord`.
Field names are a contract shared with the engine, the validators and the TUI.
"""
from __future__ import annotations

import datetime as dt
import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from embedwise.kb.languages import normalise_languages
from embedwise.kb.licenses import KNOWN_LICENSES

Modality = Literal["text", "image", "audio", "video", "multimodal"]
InputModality = Literal["text", "image", "audio", "video"]
Output = Literal["dense", "sparse", "multi_vector"]
Hosting = Literal["self_host", "api", "both"]
Similarity = Literal["cosine", "dot", "euclidean", "max_sim", "bm25"]
Status = Literal["curated", "discovered"]

# The facts a source must back. Identity fields (id, name) and bookkeeping fields (sources, status,
# description, tags, family) are not facts about the model's behaviour.
FACT_FIELDS: tuple[str, ...] = (
    "provider", "modality", "input_modalities", "output", "domains", "languages", "multilingual",
    "license", "commercial_use", "open_weights", "hosting", "parameters", "memory_mb", "dimensions",
    "max_tokens", "similarity", "query_prefix", "document_prefix", "trust_remote_code", "safetensors",
    "release_date", "price_per_million_tokens", "downloads", "likes", "hf_id", "api_name",
)

MAX_PARAMETERS = 2_000_000_000_000  # 2T: anything above is a typo
MAX_MEMORY_MB = 4_000_000
MAX_DIMENSIONS = 1_000_000  # sparse vocabularies reach ~250k
MAX_TOKENS = 10_000_000


class Source(BaseModel):
    """Where a fact comes from and when it was read."""

    model_config = ConfigDict(extra="forbid")
    ref: str = Field(min_length=3, description="URL, file path or citation")
    date: dt.date | None = Field(None, description="when the source was read or published")
    note: str | None = Field(None, description="why, e.g. a correction of another source")


class Score(BaseModel):
    """One benchmark figure. MTEB values are on the leaderboard's 0-100 scale."""

    model_config = ConfigDict(extra="forbid")
    benchmark: str  # "MTEB(eng, v2)", "MTEB(Multilingual, v2) excl. Flores", "BEIR"
    task_type: str  # "Retrieval", "Classification", ..., or "Mean" for the benchmark mean
    task: str  # a task name ("SciFact") or "mean" for a type/benchmark mean
    metric: str  # "ndcg_at_10", "main_score", ...
    value: float
    comparable: bool = True  # False when a mean is over an incomplete task set
    source: str | None = None


class ModelRecord(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=3)
    name: str = Field(min_length=1)
    provider: str = Field(min_length=1)
    family: str | None = None
    description: str = ""
    tags: list[str] = []
    hf_id: str | None = None
    api_name: str | None = None
    status: Status = "curated"

    modality: Modality
    input_modalities: list[InputModality]
    output: Output = "dense"
    domains: list[str] = ["general"]
    languages: list[str] = []
    multilingual: bool = False

    license: str
    commercial_use: bool
    open_weights: bool
    hosting: Hosting

    parameters: int | None = Field(None, ge=0, le=MAX_PARAMETERS)
    memory_mb: float | None = Field(None, ge=0, le=MAX_MEMORY_MB)
    dimensions: list[int] = []  # several where Matryoshka truncation is supported; first is the default
    max_tokens: int | None = Field(None, ge=1, le=MAX_TOKENS)
    similarity: Similarity = "cosine"
    query_prefix: str | None = None
    document_prefix: str | None = None
    trust_remote_code: bool = False
    safetensors: bool | None = None
    release_date: dt.date | None = None

    price_per_million_tokens: float | None = Field(None, ge=0, le=10_000)
    price_confidence: str | None = None
    downloads: int | None = Field(None, ge=0)
    likes: int | None = Field(None, ge=0)

    scores: list[Score] = []
    sources: dict[str, Source] = {}

    @model_validator(mode="before")
    @classmethod
    def _expand_shared_sources(cls, data: object) -> object:
        """One source may back several facts: `sources: {"dimensions, max_tokens": {...}}`."""
        if isinstance(data, dict) and isinstance(data.get("sources"), dict):
            expanded: dict = {}
            for key, src in data["sources"].items():
                for field in str(key).split(","):
                    expanded[field.strip()] = src
            data = {**data, "sources": expanded}
        return data

    @field_validator("id")
    @classmethod
    def _id_shape(cls, v: str) -> str:
        if not re.fullmatch(r"[A-Za-z0-9][\w.\-]*/[\w.\-]+", v):
            raise ValueError("id must look like 'owner/name' (a hub repo id, or provider/model for APIs)")
        return v

    @field_validator("languages")
    @classmethod
    def _languages(cls, v: list[str]) -> list[str]:
        return normalise_languages(v)

    @field_validator("license")
    @classmethod
    def _license(cls, v: str) -> str:
        if v not in KNOWN_LICENSES:
            raise ValueError(f"unknown licence id {v!r}: use an SPDX id (e.g. Apache-2.0, MIT, CC-BY-NC-4.0) or 'proprietary'")
        return v

    @field_validator("dimensions")
    @classmethod
    def _dimensions(cls, v: list[int]) -> list[int]:
        for d in v:
            if not 1 <= d <= MAX_DIMENSIONS:
                raise ValueError(f"dimension {d} is out of range 1..{MAX_DIMENSIONS}")
        return v

    @model_validator(mode="after")
    def _consistent(self) -> "ModelRecord":
        if self.status == "curated":
            given = self.model_fields_set
            missing = [f for f in FACT_FIELDS if f in given and _is_set(getattr(self, f)) and f not in self.sources]
            if missing:
                raise ValueError(f"facts without a source: {', '.join(missing)} (add them under 'sources')")
            unsourced = [f"{sc.benchmark}/{sc.task}" for sc in self.scores if not sc.source]
            if unsourced:
                raise ValueError(f"scores without a source: {', '.join(unsourced[:3])}")
        unknown = [k for k in self.sources if k not in FACT_FIELDS]
        if unknown:
            raise ValueError(f"sources name unknown fields: {', '.join(unknown)}")
        if self.hosting == "self_host" and not self.open_weights:
            raise ValueError("hosting is self_host but open_weights is false")
        return self

    # Derived values the engine and store use.
    @property
    def default_dimension(self) -> int | None:
        return self.dimensions[0] if self.dimensions else None

    @property
    def min_dimension(self) -> int | None:
        return min(self.dimensions) if self.dimensions else None


def _is_set(value: object) -> bool:
    """A fact is asserted when it is not None and not an empty list. Booleans are always asserted."""
    if value is None:
        return False
    if isinstance(value, list) and not value:
        return False
    return True

"""The one definition of a model record in the knowledge base.

Curated YAML files, the SQLite store, the hub sync and every command read and write `ModelRecord`.
Field names are a contract shared with the engine, the validators and the TUI.
"""
from __future__ import annotations

import datetime as dt
import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from embedwise.kb.languages import require_iso639_3
from embedwise.kb.licenses import KNOWN_LICENSES, is_non_commercial, is_permissive

Modality = Literal["text", "image", "audio", "video", "multimodal"]
InputModality = Literal["text", "image", "audio", "video"]
Output = Literal["dense", "sparse", "multi_vector"]
Hosting = Literal["self_host", "api", "both"]
Similarity = Literal["cosine", "dot", "euclidean", "max_sim", "bm25"]
Status = Literal["curated", "discovered"]
Lifecycle = Literal["active", "deprecated", "retired"]
LanguagesBasis = Literal["card", "paper", "vendor", "benchmark_only"]
Confidence = Literal["high", "medium", "low"]
# What a model was trained to embed: tells a sentence embedder from a raw masked LM, a CLIP text tower from a text
# retriever, a speech encoder from a sound-similarity model, a document-page retriever from a photo retriever.
TrainedFor = Literal["text_retrieval", "text_similarity", "code", "image_text", "image", "visual_document",
                     "general_audio", "speech", "video", "masked_lm_only", "lexical"]
TRAINED_FOR: tuple[str, ...] = TrainedFor.__args__  # type: ignore[attr-defined]
# Where a source's fact was read: the model card, its paper, the vendor's own page, the hub's API, mteb's ModelMeta,
# the MTEB results repository, a third-party page, the curator's own reading or arithmetic.
SourceKind = Literal["card", "paper", "vendor", "hub", "mteb", "results", "secondary", "curator", "derived"]
PriceStatus = Literal["listed", "no_public_price"]

# The facts a source must back. Identity fields (id, name) and bookkeeping fields (sources, status,
# description, tags, family) are not facts about the model's behaviour.
FACT_FIELDS: tuple[str, ...] = (
    "provider", "modality", "input_modalities", "output", "domains", "trained_for", "languages", "multilingual",
    "license", "commercial_use", "permissive", "base_model", "open_weights", "hosting", "parameters",
    "active_parameters", "memory_mb", "dimensions", "max_tokens", "similarity", "query_prefix", "document_prefix",
    "trust_remote_code", "safetensors", "release_date", "lifecycle", "price_per_million_tokens",
    "batch_price_per_million_tokens", "free_tokens", "downloads", "likes", "hf_id", "api_name",
)
# Facts that travel with another one and share its source.
SOURCED_WITH = {"languages_basis": "languages", "languages_claim": "languages", "base_model_license": "base_model",
                "release_date_confirmed": "release_date", "lifecycle_date": "lifecycle", "replacement": "lifecycle",
                "price_date": "price_per_million_tokens", "price_confidence": "price_per_million_tokens",
                "price_status": "price_per_million_tokens"}

MAX_PARAMETERS = 2_000_000_000_000  # 2T: anything above is a typo
MAX_MEMORY_MB = 4_000_000
MAX_DIMENSIONS = 1_000_000  # sparse vocabularies reach ~250k
MAX_TOKENS = 10_000_000


class Source(BaseModel):
    """Where a fact comes from, when it was read, and how sure the curator is."""

    model_config = ConfigDict(extra="forbid")
    ref: str = Field(min_length=3, description="URL, file path or citation")
    date: dt.date | None = Field(None, description="when the source was read or published")
    note: str | None = Field(None, description="why, e.g. a correction of another source")
    kind: SourceKind | None = None
    confidence: Confidence | None = None


class Score(BaseModel):
    """One benchmark figure, on the benchmark's 0-100 scale, as mteb's leaderboard computes it."""

    model_config = ConfigDict(extra="forbid")
    benchmark: str  # exactly as mteb writes it: "MTEB(eng, v2)", "MTEB(Code, v1)", "MIEB(lite)", "ViDoRe(v2)"
    task_type: str  # "Retrieval", "Classification", ..., or "Mean" for a benchmark mean
    task: str  # "Mean (Task)", "Mean (TaskType)", "Mean (Public)", "mean" (a type mean) or a task name
    metric: str  # "ndcg_at_10", "main_score", ...
    value: float
    comparable: bool = True  # False when a mean is over an incomplete task set: never ranked beside complete ones
    zero_shot_pct: float | None = Field(None, ge=0, le=100)  # share of the tasks not in the training data; None: unknown
    self_reported: bool = False  # results from the model's authors or of an unknown revision
    language: str | None = None  # ISO 639-3, for per-language figures
    source: str | None = None

    @field_validator("language")
    @classmethod
    def _language(cls, v: str | None) -> str | None:
        return None if v is None else require_iso639_3([v])[0]


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
    trained_for: list[TrainedFor] = []
    languages: list[str] = []  # supported by the card, paper or vendor (see languages_basis), ISO 639-3
    languages_basis: LanguagesBasis | None = None
    languages_claim: str | None = None  # "100+ languages" where the source gives a count and no list
    multilingual: bool = False

    license: str
    commercial_use: bool  # the strictest of the model's own licence and its base model's
    permissive: bool | None = None  # the same, for permissive licences (Apache-2.0, MIT, BSD, CC-BY, ...)
    base_model: str | None = None
    base_model_license: str | None = None
    open_weights: bool
    hosting: Hosting

    parameters: int | None = Field(None, ge=0, le=MAX_PARAMETERS)  # total
    active_parameters: int | None = Field(None, ge=0, le=MAX_PARAMETERS)  # per token, mixture-of-experts only
    memory_mb: float | None = Field(None, ge=0, le=MAX_MEMORY_MB)  # the weights at 16-bit precision
    dimensions: list[int] = []  # several where Matryoshka truncation is supported; first is the default
    max_tokens: int | None = Field(None, ge=1, le=MAX_TOKENS)
    similarity: Similarity = "cosine"
    query_prefix: str | None = None
    document_prefix: str | None = None
    trust_remote_code: bool = False
    safetensors: bool | None = None
    release_date: dt.date | None = None
    release_date_confirmed: bool | None = None  # False: the best date known, not confirmed by card, paper or vendor

    lifecycle: Lifecycle = "active"
    lifecycle_date: dt.date | None = None
    replacement: str | None = None

    price_per_million_tokens: float | None = Field(None, ge=0, le=10_000)  # USD per 1M input tokens, list price
    price_date: dt.date | None = None
    price_confidence: Confidence | None = None
    price_status: PriceStatus | None = None
    batch_price_per_million_tokens: float | None = Field(None, ge=0, le=10_000)
    free_tokens: int | None = Field(None, ge=0)
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
        return require_iso639_3(v)

    @field_validator("license", "base_model_license")
    @classmethod
    def _license(cls, v: str | None) -> str | None:
        if v is not None and v not in KNOWN_LICENSES:
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
            if self.open_weights and "safetensors" not in self.sources:
                raise ValueError("safetensors needs a source for an open-weights model (its file list), or a source "
                                 "that says it was not checked")
            if self.open_weights and "trust_remote_code" not in self.sources:
                raise ValueError("trust_remote_code needs a source for an open-weights model (the repository's "
                                 "config.json auto_map, the card's loading code, or the curator's reading): never a "
                                 "default")
            unsourced = [f"{sc.benchmark}/{sc.task}" for sc in self.scores if not sc.source]
            if unsourced:
                raise ValueError(f"scores without a source: {', '.join(unsourced[:3])}")
        unknown = [k for k in self.sources if k not in FACT_FIELDS]
        if unknown:
            raise ValueError(f"sources name unknown fields: {', '.join(unknown)}")
        if self.hosting == "self_host" and not self.open_weights:
            raise ValueError("hosting is self_host but open_weights is false")
        if self.price_per_million_tokens is not None and self.price_date is None:
            raise ValueError("price_per_million_tokens needs price_date (when the price was read or published)")
        if self.batch_price_per_million_tokens is not None and self.price_date is None:
            raise ValueError("batch_price_per_million_tokens needs price_date")
        if self.price_status == "listed" and self.price_per_million_tokens is None:
            raise ValueError("price_status is 'listed' but price_per_million_tokens is not set")
        if self.active_parameters is not None and self.parameters is not None \
                and self.active_parameters > self.parameters:
            raise ValueError("active_parameters exceeds parameters")
        if self.lifecycle != "active" and self.status == "curated" and "lifecycle" not in self.sources:
            raise ValueError(f"lifecycle {self.lifecycle!r} needs a source")
        # Licence inheritance: a model is no freer than its base model.
        licences = [self.license] + ([self.base_model_license] if self.base_model_license else [])
        if self.commercial_use and any(is_non_commercial(lic) for lic in licences):
            raise ValueError(f"commercial_use is true but {' / '.join(licences)} forbids commercial use "
                             "(the strictest of the model's and its base model's licence applies)")
        if self.permissive and not all(is_permissive(lic) for lic in licences):
            raise ValueError(f"permissive is true but {' / '.join(licences)} is not permissive")
        return self

    # Derived values the engine and store use.
    @property
    def default_dimension(self) -> int | None:
        return self.dimensions[0] if self.dimensions else None

    @property
    def min_dimension(self) -> int | None:
        return min(self.dimensions) if self.dimensions else None

    def supports_language(self, code: str) -> bool | None:
        """True/False by the curated list (macrolanguage-aware); None when the list is unknown or only a claim."""
        from embedwise.kb.languages import covers

        if self.languages and covers(self.languages, code):
            return True
        if self.languages_claim or self.languages_basis == "benchmark_only" or not self.languages:
            return None
        return False


class HardwareSource(BaseModel):
    model_config = ConfigDict(extra="forbid")
    ref: str = Field(min_length=3)
    date: dt.date
    confidence: Confidence
    note: str | None = None


class HardwarePrice(BaseModel):
    """The hourly price of one cloud instance, for pricing self-hosting (GPU or CPU hours)."""

    model_config = ConfigDict(extra="forbid")
    id: str = Field(min_length=3)  # "aws/g6.xlarge"
    cloud: str
    instance: str
    gpu: str | None = None  # "L4", "A10G", "L40S", "A100-80GB", "H100"; None for a CPU instance
    gpu_count: int = Field(0, ge=0)
    gpu_memory_gb: float | None = Field(None, ge=0)
    vcpus: int | None = Field(None, ge=1)
    memory_gb: float | None = Field(None, ge=0)
    usd_per_hour: float = Field(gt=0, le=1000)
    pricing: Literal["on_demand", "spot", "reserved"] = "on_demand"
    region: str | None = None
    src: HardwareSource


def _is_set(value: object) -> bool:
    """A fact is asserted when it is not None and not an empty list. Booleans are always asserted."""
    if value is None:
        return False
    if isinstance(value, list) and not value:
        return False
    return True

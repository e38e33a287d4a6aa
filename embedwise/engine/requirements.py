"""The user's requirements: one typed object, loaded from (and written to) the YAML file users write.

The field names are a contract shared with the CLI, the TUI and the rule files. Every field is optional with a
sensible default; an unknown field is an error that names it (extra="forbid" at every level).
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from embedwise.errors import BadInput
from embedwise.yamlnodes import line_of

Task = Literal["semantic_search", "rag", "question_answering", "classification", "clustering", "recommendation",
               "deduplication", "reranking", "code_search", "cross_modal_search"]
TASKS: tuple[str, ...] = Task.__args__  # type: ignore[attr-defined]
ModalityReq = Literal["text", "image", "audio", "video", "multimodal"]
HostingReq = Literal["self_host", "api", "any"]
Hardware = Literal["cpu", "gpu"]
Priority = Literal["accuracy", "balanced", "cost"]
EmbeddingType = Literal["dense", "sparse", "hybrid", "multi_vector", "auto"]

_SIZE = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*([kKmMbBtT]?)\s*$")
_MULT = {"": 1, "k": 10**3, "m": 10**6, "b": 10**9, "t": 10**12}


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True, strict=True)


class Data(_Section):
    modality: ModalityReq = Field("text", description="what the documents are: text | image | audio | video | multimodal")
    query_modality: ModalityReq | None = Field(
        None, description="what the queries are, when it differs from modality (cross-modal search: text -> image); "
                          "null means the same as modality")
    languages: list[str] = Field(["eng"], description="languages of the data, ISO 639-1 (en) or 639-3 (eng)")
    cross_lingual: bool = Field(False, description="queries in one language, documents in another")
    domain: str = Field("general", description="general | medical | legal | finance | code | scientific | "
                                               "ecommerce | ... (lower case)")
    keyword_heavy: bool = Field(False, description="catalogues, part numbers, technical docs: exact terms matter")
    avg_doc_tokens: int = Field(300, ge=1, le=10_000_000, description="average document (or chunk) length in tokens")
    documents: int = Field(100_000, ge=0, le=10**12, description="how many documents (or chunks) to embed")
    chunking: bool = Field(True, description="documents may be split into chunks; false = each is embedded whole, "
                                             "so the model's window must hold avg_doc_tokens")
    monthly_churn: float = Field(0.0, ge=0, le=1, description="share of the documents re-embedded each month "
                                                               "(new or changed), 0-1")
    labelled_examples: int = Field(0, ge=0, le=10**9, description="labelled examples you have (for fine-tuning, "
                                                                   "SetFit or a linear probe)")

    @field_validator("languages", mode="before")
    @classmethod
    def _langs(cls, v: Any) -> Any:
        if isinstance(v, str):
            v = [v]
        if not isinstance(v, list):
            return v
        from embedwise.kb.languages import normalise_languages

        return normalise_languages(v)

    @field_validator("domain")
    @classmethod
    def _domain(cls, v: str) -> str:
        v = v.strip().lower()
        if not v:
            raise ValueError("domain is empty; use 'general' when there is no particular domain")
        return v

    @property
    def effective_query_modality(self) -> str:
        return self.query_modality or self.modality


class Deployment(_Section):
    hosting: HostingReq = Field("any", description="self_host | api | any")
    data_must_stay_on_premises: bool = Field(False, description="documents and queries may not leave your servers")
    hardware: Hardware = Field("gpu", description="what the self-hosted model runs on: cpu | gpu")
    gpu_memory_gb: float | None = Field(24, ge=0, le=10_000, description="memory of one GPU in GB (hardware: gpu)")
    latency_p95_ms: float | None = Field(None, gt=0, le=3_600_000,
                                         description="p95 latency budget to embed one query, in ms; null = no limit")
    queries_per_day: int = Field(10_000, ge=0, le=10**12, description="queries embedded per day")
    gpu_type: str | None = Field(None, description="the GPU you would serve on (T4, L4, A10G, L40S, A100-80GB, H100): "
                                                   "prices self-hosting and scales speed; null = the cheapest that fits")
    on_device: bool = Field(False, description="the model runs on a phone or other edge device")


class Budget(_Section):
    monthly_usd: float | None = Field(None, ge=0, le=10**9, description="monthly budget for embedding in USD; "
                                                                        "null = no limit")
    one_off_usd: float | None = Field(None, ge=0, le=10**9, description="budget for indexing the corpus once, in "
                                                                         "USD; null = no limit")
    priority: Priority = Field("balanced", description="accuracy | balanced | cost: is a 2-3% gain worth a large "
                                                       "cost increase?")


class License(_Section):
    commercial_use: bool = Field(True, description="the model is used in a commercial product or service")
    permissive_only: bool = Field(False, description="accept only MIT / Apache-2.0 / BSD-style licences")


class Constraints(_Section):
    max_dimensions: int | None = Field(None, ge=1, le=1_000_000, description="largest embedding dimension you can "
                                                                              "store; null = no limit")
    max_parameters: int | None = Field(None, ge=1, description="largest model size in parameters (e.g. 500M, 1.5B); "
                                                               "null = no limit")
    embedding_type: EmbeddingType = Field("auto", description="dense | sparse | hybrid | multi_vector | auto")
    fine_tuning: bool = Field(False, description="you plan to fine-tune the model on your own data")

    @field_validator("max_parameters", mode="before")
    @classmethod
    def _size(cls, v: Any) -> Any:
        if isinstance(v, str):
            match = _SIZE.match(v)
            if not match:
                raise ValueError(f"not a size: {v!r} (write e.g. 350M, 1.5B or 1500000000)")
            return int(float(match.group(1)) * _MULT[match.group(2).lower()])
        return v


EVALUATION_METRICS = ("ndcg_at_10", "mrr_at_10", "recall_at_100", "map_at_10", "accuracy", "f1", "cosine_spearman",
                      "v_measure", "latency", "memory", "robustness", "cost")


class Evaluation(_Section):
    """Where the user's own evaluation data is and what matters in it (the questionnaire's evaluation step)."""

    data_path: str | None = Field(None, description="data folder or file for `embedwise validate`; null = decide later")
    task: Literal["auto", "retrieval", "classification", "sts", "clustering"] = Field(
        "auto", description="auto | retrieval | classification | sts | clustering")
    top: int = Field(3, ge=1, le=10, description="how many of the shortlist to validate")
    metrics: list[str] = Field(["ndcg_at_10", "latency"], description="the metrics that matter: "
                                                                      + ", ".join(EVALUATION_METRICS))

    @field_validator("metrics")
    @classmethod
    def _metrics(cls, v: list[str]) -> list[str]:
        unknown = [m for m in v if m not in EVALUATION_METRICS]
        if unknown:
            raise ValueError(f"unknown metric {unknown[0]!r}; known: {', '.join(EVALUATION_METRICS)}")
        return v


class Requirements(BaseModel):
    """The answers to the questionnaire. `embedwise requirements template` writes this with a comment per field."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, strict=True)

    task: Task = Field("semantic_search", description="semantic_search | rag | question_answering | classification | "
                                                      "clustering | recommendation | deduplication | reranking | "
                                                      "code_search | cross_modal_search")
    data: Data = Field(default_factory=Data)
    deployment: Deployment = Field(default_factory=Deployment)
    budget: Budget = Field(default_factory=Budget)
    license: License = Field(default_factory=License)
    constraints: Constraints = Field(default_factory=Constraints)
    evaluation: Evaluation = Field(default_factory=Evaluation)

    @model_validator(mode="after")
    def _consistent(self) -> "Requirements":
        problems = contradictions(self)
        if problems:
            # one "<field path>|<message>" per problem: describe_errors reports each at its field's line
            raise ValueError(CONTRADICTION + "\n".join(problems))
        return self


CONTRADICTION = "contradictory requirements:\n"


def contradictions(req: Requirements) -> list[str]:
    """Combinations no model can satisfy, each said with what to change."""
    out = []
    d = req.deployment
    if d.hosting == "api" and d.data_must_stay_on_premises:
        out.append("deployment.hosting is 'api' but deployment.data_must_stay_on_premises is true "
                   "(an API sends your data off premises): set hosting to self_host or any")
    if req.data.cross_lingual and len(req.data.languages) < 2:
        out.append("data.cross_lingual is true but data.languages names fewer than two languages: list the query "
                   "and document languages")
    if req.data.modality in ("image", "audio", "video") and req.constraints.embedding_type in ("sparse", "hybrid"):
        out.append(f"constraints.embedding_type '{req.constraints.embedding_type}' needs text, but data.modality is "
                   f"'{req.data.modality}': use dense or auto")
    if req.task == "code_search" and req.data.modality not in ("text", "multimodal"):
        out.append("data.modality must be text for task code_search")
    if d.hardware == "gpu" and d.gpu_memory_gb is not None and d.gpu_memory_gb == 0 and d.hosting == "self_host":
        out.append("deployment.gpu_memory_gb is 0 with hardware gpu: set hardware to cpu or give the GPU's memory")
    if d.on_device and d.hosting == "api":
        out.append("deployment.on_device is true but deployment.hosting is 'api': an on-device model runs locally")
    if not req.data.chunking and req.data.modality != "text":
        out.append("data.chunking is false but data.modality is not text: chunking applies to text only")
    return out


# --- files ------------------------------------------------------------------------------------------------------------

def load_requirements(path: str | Path) -> Requirements:
    """Read a requirements YAML file. Errors name the file, the line and the field."""

    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise BadInput("no such file; write one with `embedwise requirements template --output FILE`",
                       str(path)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise BadInput(f"cannot read: {exc}", str(path)) from None
    return parse_requirements(text, str(path))


def parse_requirements(text: str, where: str = "<requirements>") -> Requirements:
    import yaml

    from embedwise.yamlnodes import compose, construct, reject_duplicate_keys

    root = compose(text, where, max_bytes=1_000_000)
    if root is None:
        data: Any = {}
    else:
        if not isinstance(root, yaml.MappingNode):
            raise BadInput("expected a mapping of sections (task, data, deployment, budget, license, constraints)",
                           f"{where}:{root.start_mark.line + 1}")
        reject_duplicate_keys(root, where)
        data = construct(root)
    try:
        return Requirements.model_validate(data)
    except ValidationError as exc:
        raise BadInput(describe_errors(exc, root, where)) from None


def describe_errors(exc: ValidationError, root: Any = None, where: str | None = None) -> str:
    """One line per problem: file:line: field: message (with the allowed values for an unknown field)."""
    lines = []
    for err in exc.errors():
        loc = tuple(err["loc"])
        field = ".".join(str(p) for p in loc) or "(requirements)"
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            parent = _model_at(loc[:-1])
            allowed = ", ".join(parent.model_fields) if parent else ""
            msg = f"unknown field {loc[-1]!r}" + (f" (allowed here: {allowed})" if allowed else "")
        line = line_of(root, loc) if root is not None else None
        prefix = f"{where}:{line}: " if where and line else (f"{where}: " if where else "")
        if msg.startswith(CONTRADICTION):
            for problem in msg[len(CONTRADICTION):].splitlines():
                path = problem.split(" ", 2)[0] if " " in problem else problem
                at = line_of(root, tuple(path.split("."))) if root is not None else None
                head = f"{where}:{at}: " if where and at else (f"{where}: " if where else "")
                lines.append(f"{head}{path}: contradictory requirements: {problem}")
            continue
        lines.append(f"{prefix}{field}: {msg}")
    return "invalid requirements\n  " + "\n  ".join(lines)


def _model_at(loc: tuple) -> type[BaseModel] | None:
    model: type[BaseModel] = Requirements
    for part in loc:
        f = model.model_fields.get(str(part))
        if f is None or not (isinstance(f.annotation, type) and issubclass(f.annotation, BaseModel)):
            return None
        model = f.annotation
    return model


def requirements_from_dict(data: dict) -> Requirements:
    """Validate a dict (from the TUI, say); a BadInput names each bad field."""
    try:
        return Requirements.model_validate(data)
    except ValidationError as exc:
        raise BadInput(describe_errors(exc)) from None


def dump_requirements(req: Requirements) -> str:
    """YAML that `load_requirements` reads back to an equal object."""
    import yaml

    return yaml.safe_dump(req.model_dump(mode="json"), sort_keys=False, allow_unicode=True)


def template_yaml() -> str:
    """The requirements file with its defaults and a comment on every field."""
    import json

    default = Requirements()
    lines = ["# embedwise requirements: every field is optional; delete what you do not need.",
             "# Check it with `embedwise recommend --requirements THIS_FILE`.", ""]

    def scalar(v: Any) -> str:
        if v is None:
            return "null"
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, list):
            return "[" + ", ".join(scalar(x) for x in v) + "]"
        if isinstance(v, float) and v.is_integer():
            return str(int(v))
        if isinstance(v, str):
            return v if re.fullmatch(r"[A-Za-z_][\w\-]*", v) and v not in ("null", "true", "false", "yes", "no") \
                else json.dumps(v)
        return str(v)

    for name, field in Requirements.model_fields.items():
        value = getattr(default, name)
        if isinstance(value, BaseModel):
            lines.append(f"{name}:")
            for sub, sf in type(value).model_fields.items():
                entry = f"  {sub}: {scalar(getattr(value, sub))}"
                lines.append(f"{entry:<34} # {sf.description}")
        else:
            entry = f"{name}: {scalar(value)}"
            lines.append(f"{entry:<34} # {field.description}")
    return "\n".join(lines) + "\n"

"""The questionnaire as data: every question, the requirements field it fills, and how a typed answer is checked.

Nothing here imports the engine: the app must show its first question fast. The answers are a nested dict shaped
like the requirements file (issue: the rules engine); `evaluation.*` answers are the TUI's own (they prefill the
validate screen) and are never written into the requirements file.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

Kind = Literal["choice", "bool", "int", "float", "langs", "text", "path", "multi"]

TASKS = (
    ("Semantic search", "semantic_search"),
    ("RAG (retrieval for an LLM)", "rag"),
    ("Question answering", "question_answering"),
    ("Classification", "classification"),
    ("Clustering", "clustering"),
    ("Recommendation", "recommendation"),
    ("Deduplication / similarity", "deduplication"),
    ("Reranking", "reranking"),
    ("Code search", "code_search"),
    ("Cross-modal search (text→image…)", "cross_modal_search"),
)
MODALITIES = (("Text", "text"), ("Image", "image"), ("Audio", "audio"), ("Video", "video"),
              ("Multimodal", "multimodal"))
DOMAINS = (("General", "general"), ("Medical", "medical"), ("Legal", "legal"), ("Finance", "finance"),
           ("Code", "code"), ("Scientific", "scientific"), ("E-commerce", "ecommerce"))
PRIORITIES = (("Balanced", "balanced"), ("Accuracy first (cost matters less)", "accuracy"),
              ("Cost first (a few % of quality is fine)", "cost"))
HOSTING = (("Either: self-host or API", "any"), ("Self-host (open weights)", "self_host"),
           ("Hosted API", "api"))
HARDWARE = (("CPU only", "cpu"), ("GPU", "gpu"))
EMBEDDING_TYPES = (("Let embedwise decide", "auto"), ("Dense", "dense"), ("Sparse", "sparse"),
                   ("Hybrid (BM25 + dense)", "hybrid"), ("Multi-vector (ColBERT-style)", "multi_vector"))
EVAL_TASKS = (("Detect from the files", "auto"), ("Retrieval", "retrieval"), ("Classification", "classification"),
              ("STS / pair similarity", "sts"), ("Clustering", "clustering"))
METRICS = (("NDCG@10 (ranking quality)", "ndcg_at_10"), ("MRR@10 (first hit)", "mrr_at_10"),
           ("Recall@100 (coverage for RAG)", "recall_at_100"), ("MAP@10", "map_at_10"),
           ("Accuracy / F1 (classification)", "accuracy"), ("Spearman (STS)", "cosine_spearman"),
           ("V-measure (clustering)", "v_measure"), ("Latency p95 and throughput", "latency"),
           ("Memory", "memory"), ("Robustness (typos, edge cases)", "robustness"), ("Cost", "cost"))


@dataclass(frozen=True)
class Field:
    path: str  # dotted path in the answers: "data.languages"
    label: str
    hint: str
    kind: Kind
    choices: tuple[tuple[str, str], ...] = ()
    optional: bool = False  # empty input means "no limit" / None
    minimum: float | None = None
    maximum: float | None = None
    placeholder: str = ""
    positive: bool = False  # strictly greater than zero

    def to_value(self, choice: str) -> Any:
        """A choice's stored value: the empty string stands for None ("same as", "no preference")."""
        return None if choice == "" else choice

    def to_choice(self, value: Any) -> str:
        return "" if value is None else str(value)

    @property
    def widget_id(self) -> str:
        return "f-" + self.path.replace(".", "-")


@dataclass(frozen=True)
class Step:
    key: str
    title: str
    intro: str
    fields: tuple[Field, ...] = field(default_factory=tuple)


STEPS: tuple[Step, ...] = (
    Step("task", "Task and business needs",
         "What will the embeddings do, and what is it worth? (Step 1 of choosing a model.)",
         (
             Field("task", "Task", "what the application does with the embeddings", "choice", TASKS),
             Field("budget.priority", "Priority", "is a 2–3% quality gain worth a large cost increase?",
                   "choice", PRIORITIES),
             Field("deployment.queries_per_day", "Queries per day", "expected search volume", "int",
                   minimum=0, maximum=10**12, placeholder="50000"),
             Field("data.documents", "Documents", "how many documents you will embed", "int",
                   minimum=0, maximum=10**13, placeholder="1000000"),
             Field("budget.monthly_usd", "Monthly budget (USD)", "empty: no budget limit", "float",
                   optional=True, minimum=0, maximum=10**9, placeholder="no limit"),
         )),
    Step("data", "Your data",
         "What the documents and queries look like. (Step 2: evaluate the data.)",
         (
             Field("data.modality", "Documents are", "the modality of what you embed", "choice", MODALITIES),
             Field("data.query_modality", "Queries are", "differs for cross-modal search (text → image)",
                   "choice", (("Same as the documents", ""),) + MODALITIES),
             Field("data.languages", "Languages", "ISO codes, comma separated: en, de, zh", "langs",
                   placeholder="en"),
             Field("data.cross_lingual", "Cross-lingual", "queries in one language, documents in another",
                   "bool"),
             Field("data.domain", "Domain", "a specialised vocabulary favours a domain model", "choice", DOMAINS),
             Field("data.keyword_heavy", "Keyword-heavy", "part numbers, codes, exact terms matter", "bool"),
             Field("data.avg_doc_tokens", "Avg. document tokens", "length of a typical document (or chunk)",
                   "int", minimum=1, maximum=10**7, placeholder="300"),
         )),
    Step("models", "Model research preferences",
         "Which models are acceptable at all. (Step 3: research the models.)",
         (
             Field("license.commercial_use", "Commercial use", "excludes non-commercial licences (CC-BY-NC…)",
                   "bool"),
             Field("license.permissive_only", "Permissive only", "MIT / Apache-2.0 / BSD-style licences only",
                   "bool"),
             Field("deployment.hosting", "Open weights or API", "self-host open weights, call an API, or either",
                   "choice", HOSTING),
             Field("deployment.data_must_stay_on_premises", "Data stays on premises",
                   "no text may leave your servers (rules out APIs)", "bool"),
             Field("constraints.embedding_type", "Embedding type", "dense, sparse, hybrid, multi-vector",
                   "choice", EMBEDDING_TYPES),
         )),
    Step("evaluation", "Evaluation on your data",
         "Where your own test data is and what to measure. (Step 4: evaluate the candidates.)",
         (
             Field("evaluation.data_path", "Data folder or file", "BEIR folder, CSV/TSV/JSONL; empty: decide later",
                   "path", optional=True, placeholder="./my-eval-data"),
             Field("evaluation.task", "Data kind", "retrieval, classification, STS or clustering", "choice",
                   EVAL_TASKS),
             Field("evaluation.top", "Models to validate", "how many of the shortlist to run (1–10)", "int",
                   minimum=1, maximum=10, placeholder="3"),
             Field("evaluation.metrics", "Metrics that matter", "space toggles", "multi", METRICS),
         )),
    Step("integration", "Integration and deployment",
         "How the model will run. (Step 5: plan the integration.)",
         (
             Field("deployment.hardware", "Hardware", "where the model runs if self-hosted", "choice", HARDWARE),
             Field("deployment.gpu_memory_gb", "GPU memory (GB)", "of one GPU; empty: not known", "float",
                   optional=True, minimum=0, maximum=10_000, placeholder="e.g. 24"),
             Field("deployment.latency_p95_ms", "Latency budget p95 (ms)", "per query embedding; empty: none",
                   "float", optional=True, positive=True, maximum=3_600_000, placeholder="e.g. 100"),
             Field("constraints.max_dimensions", "Max dimensions", "vector storage limit; empty: none", "int",
                   optional=True, minimum=1, maximum=1_000_000, placeholder="e.g. 768"),
             Field("constraints.max_parameters", "Max parameters", "e.g. 500M, 1.5B; empty: none", "int",
                   optional=True, minimum=1, maximum=2 * 10**12, placeholder="e.g. 1B"),
             Field("constraints.fine_tuning", "Fine-tuning planned", "you will fine-tune on your data", "bool"),
         )),
    Step("summary", "Review and run",
         "Check the answers, save them as YAML, and rank the models. (Step 6 follows: test end to end.)"),
)

FIELDS: dict[str, Field] = {f.path: f for s in STEPS for f in s.fields}


def default_answers() -> dict[str, Any]:
    """The engine's defaults (an empty requirements file means the same), plus the evaluation answers."""
    return {
        "task": "semantic_search",
        "data": {"modality": "text", "query_modality": None, "languages": ["eng"], "cross_lingual": False,
                 "domain": "general", "keyword_heavy": False, "avg_doc_tokens": 300, "documents": 100_000},
        "deployment": {"hosting": "any", "data_must_stay_on_premises": False, "hardware": "gpu",
                       "gpu_memory_gb": 24, "latency_p95_ms": None, "queries_per_day": 10_000},
        "budget": {"monthly_usd": None, "priority": "balanced"},
        "license": {"commercial_use": True, "permissive_only": False},
        "constraints": {"max_dimensions": None, "max_parameters": None, "embedding_type": "auto",
                        "fine_tuning": False},
        "evaluation": {"data_path": None, "task": "auto", "top": 3, "metrics": ["ndcg_at_10", "latency"]},
    }


def get(answers: dict, path: str) -> Any:
    node: Any = answers
    for part in path.split("."):
        if not isinstance(node, dict):
            return None
        node = node.get(part)
    return node


def put(answers: dict, path: str, value: Any) -> None:
    parts = path.split(".")
    node = answers
    for part in parts[:-1]:
        node = node.setdefault(part, {})
    node[parts[-1]] = value


_SUFFIXES = {"k": 1e3, "m": 1e6, "b": 1e9, "t": 1e12}


def parse(f: Field, raw: str) -> Any:
    """Turn typed text into the field's value, or raise ValueError with a message fit to show under the field."""
    text = raw.strip()
    if f.kind in ("int", "float", "path", "text") and not text:
        if f.optional:
            return None
        raise ValueError("required")
    if f.kind in ("int", "float"):
        cleaned = text.replace("_", "").replace(",", "").replace(" ", "")
        mult = 1.0
        if cleaned and cleaned[-1].lower() in _SUFFIXES:
            mult = _SUFFIXES[cleaned[-1].lower()]
            cleaned = cleaned[:-1]
        try:
            number = float(cleaned) * mult
        except ValueError:
            raise ValueError(f"{raw.strip()!r} is not a number") from None
        if number != number or number in (float("inf"), float("-inf")):
            raise ValueError("not a finite number")
        if f.kind == "int":
            if not number.is_integer():
                raise ValueError("must be a whole number")
            number = int(number)
        if f.positive and number <= 0:
            raise ValueError("must be more than 0")
        if f.minimum is not None and number < f.minimum:
            raise ValueError(f"must be at least {f.minimum:g}")
        if f.maximum is not None and number > f.maximum:
            raise ValueError(f"must be at most {f.maximum:g}")
        return number
    if f.kind == "langs":
        from embedwise.kb.languages import normalise_language

        codes = [c.strip() for c in text.replace(";", ",").replace(" ", ",").split(",") if c.strip()]
        if not codes:
            raise ValueError("give at least one language code, e.g. en")
        out: list[str] = []
        for code in codes:
            normalise_language(code)  # raises ValueError naming the bad code
            if code not in out:
                out.append(code)
        return out
    if f.kind == "path":
        path = Path(text).expanduser()
        if not path.exists():
            raise ValueError(f"no such file or folder: {text}")
        return str(path)
    return text


def render(f: Field, value: Any) -> str:
    """The text an Input shows for a stored value."""
    if value is None:
        return ""
    if f.kind == "langs":
        return ", ".join(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def display(f: Field, value: Any) -> str:
    """A short human rendering for the summary."""
    if f.kind == "choice":
        labels = dict((v, label) for label, v in f.choices)
        return labels.get(f.to_choice(value), str(value))
    if value is None or value == []:
        return "—" if f.kind != "bool" else "no"
    if f.kind == "bool":
        return "yes" if value else "no"
    if f.kind in ("choice", "multi"):
        labels = dict((v, label) for label, v in f.choices)
        if isinstance(value, list):
            return ", ".join(labels.get(v, str(v)) for v in value)
        return labels.get(value, str(value))
    return render(f, value)


REQUIREMENT_SECTIONS = ("task", "data", "deployment", "budget", "license", "constraints", "evaluation")


def requirements_dict(answers: dict, drop_none: bool = False) -> dict:
    """The answers as the requirements file holds them (the evaluation step included). None means "no limit"."""
    out: dict[str, Any] = {}
    for key in REQUIREMENT_SECTIONS:
        value = answers.get(key)
        if isinstance(value, dict):
            section = {k: copy.deepcopy(v) for k, v in value.items() if not (drop_none and v is None)}
            if section:
                out[key] = section
        elif value is not None:
            out[key] = value
    return out


def merge_loaded(loaded: dict, keep_evaluation: dict | None = None) -> dict:
    """Answers from a loaded requirements dict: defaults for what the file leaves out."""
    answers = default_answers()
    for key, value in loaded.items():
        if isinstance(value, dict) and isinstance(answers.get(key), dict):
            for sub, v in value.items():
                answers[key][sub] = v
        else:
            answers[key] = value
    if keep_evaluation and "evaluation" not in loaded:  # a file without the step keeps what was answered
        answers["evaluation"] = copy.deepcopy(keep_evaluation)
    return answers

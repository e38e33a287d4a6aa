"""Benchmark evidence for a set of requirements: which figures matter, and what each model's say.

The plan names the benchmarks that match the requirements, most specific first: the user's modality (MIEB, ViDoRe,
MAEB, MVEB), domain (MTEB(Law), MTEB(Medical), ChemTEB, RTEB), code (MTEB(Code), CoIR), long documents (LongEmbed),
language (MTEB(deu), MTEB(jpn), ..., and per-language retrieval inside MTEB(Multilingual)), then broader evidence
(MTEB(eng), MTEB(Multilingual)) with less weight. Every figure is normalised within its benchmark (its percentile
among the knowledge base's models that have it), so no benchmark's spread dominates by accident; figures of models
trained on the benchmark's own tasks are discounted by the overlap; self-reported figures are marked. A model with
none of the matching figures is placed by its family or base model, with a wider uncertainty, and says so.
"""
from __future__ import annotations

from dataclasses import dataclass

# task -> the task types whose means measure it (first is the main one)
TASK_TYPES = {
    "semantic_search": ("Retrieval",), "rag": ("Retrieval",), "question_answering": ("Retrieval",),
    "code_search": ("Retrieval",), "cross_modal_search": ("Retrieval",), "recommendation": ("Retrieval", "STS"),
    "classification": ("Classification",), "clustering": ("Clustering",),
    "deduplication": ("STS", "PairClassification"), "reranking": ("Reranking",),
}
LANGUAGE_BENCHMARKS = {
    "deu": ["MTEB(deu, v1)"], "fra": ["MTEB(fra, v1)"], "jpn": ["MTEB(jpn, v1)", "JMTEB(v2)"],
    "zho": ["MTEB(cmn, v1)"], "cmn": ["MTEB(cmn, v1)"], "kor": ["MTEB(kor, v2)", "MTEB(kor, v1)"],
    "pol": ["MTEB(pol, v1)"], "rus": ["MTEB(rus, v1.1)"], "fas": ["MTEB(fas, v2)"], "pes": ["MTEB(fas, v2)"],
    "spa": ["MTEB(spa, v1)"], "por": ["MTEB(por, v1)"], "nld": ["MTEB(nld, v1)", "BEIR-NL"],
    "tha": ["MTEB(tha, v1)"], "vie": ["VN-MTEB (vie, v1)"],
    **{c: ["MTEB(Scandinavian, v1)"] for c in ("dan", "swe", "nob", "nno", "nor")},
    **{c: ["MTEB(Indic, v1)"] for c in ("hin", "ben", "tel", "tam", "mar", "guj", "kan", "mal", "pan", "ori",
                                         "urd", "asm")},
}
DOMAIN_BENCHMARKS = {
    "legal": [("MTEB(Law, v1)", 1.0), ("RTEB(Law, beta)", 0.7)],
    "medical": [("MTEB(Medical, v1)", 1.0), ("RTEB(Health, beta)", 0.7), ("R2MED", 0.5)],
    "finance": [("RTEB(fin, beta)", 1.0)],
    "chemistry": [("ChemTEB", 1.0)], "scientific": [("ChemTEB", 0.4), ("BEIR", 0.4)],
    "code": [("MTEB(Code, v1)", 1.0), ("CoIR", 0.8), ("RTEB(Code, beta)", 0.6)],
}
VISUAL_DOCUMENT_DOMAINS = {"documents", "document", "visual_documents", "pdf", "slides", "scans"}
MODALITY_BENCHMARKS = {
    "image": [("MIEB(lite)", 1.0), ("MIEB(eng)", 0.8), ("MIEB(Img)", 0.6)],
    "visual_document": [("ViDoRe(v3)", 1.0), ("ViDoRe(v2)", 0.9), ("ViDoRe(v1&v2)", 0.8), ("ViDoRe(v1)", 0.6)],
    "audio": [("MAEB(v1, audio-only)", 1.0), ("MAEB(v1)", 0.9)],
    "video": [("MVEB(v1)", 1.0), ("MVEB(text, video, v1)", 0.9), ("MVEB(video, v1)", 0.8)],
}
MULTILINGUAL = "MTEB(Multilingual, v2) excl. FloresBitextMining"
# The figure that stands for a whole benchmark: its mean over tasks (RTEB: over the public ones, as its leaderboard).
MEAN_TASKS = ("Mean (Public)", "Mean (Task)", "Mean (TaskType)")


@dataclass(frozen=True)
class Want:
    benchmark: str
    task_type: str  # a task type, or "Mean"
    language: str | None
    weight: float
    label: str  # how the reason names it: "MTEB(jpn, v1) retrieval"


def plan(req) -> list[Want]:
    """The benchmark figures that speak to these requirements, with their weights (most specific first)."""
    d = req.data
    types = TASK_TYPES.get(req.task, ("Retrieval",))
    main = types[0]
    wants: list[Want] = []

    def add(bench: str, task_type: str, weight: float, language: str | None = None) -> None:
        label = f"{bench} {task_type.lower() if task_type != 'Mean' else 'mean'}" + (f" ({language})" if language else "")
        wants.append(Want(bench, task_type, language, weight, label))

    modality = d.modality
    if modality == "image" and d.domain in VISUAL_DOCUMENT_DOMAINS:
        modality = "visual_document"
    if modality in MODALITY_BENCHMARKS:
        for bench, w in MODALITY_BENCHMARKS[modality]:
            add(bench, "Mean", w)
        return wants
    domain = "code" if req.task == "code_search" else d.domain
    for bench, w in DOMAIN_BENCHMARKS.get(domain, []):
        add(bench, "Mean", w)
    long_docs = d.avg_doc_tokens >= 2000 and main == "Retrieval"
    if long_docs:
        add("LongEmbed", "Mean", 1.0 if not d.chunking else 0.8)
    others = [lang for lang in d.languages if lang != "eng"]
    for lang in others:
        for i, bench in enumerate(LANGUAGE_BENCHMARKS.get(lang, [])):
            add(bench, main, 0.9 if i == 0 else 0.6)
        if main == "Retrieval":
            add("MTEB(Multilingual, v2)", "Retrieval", 0.8, lang)
    if len(others) >= 2 or d.cross_lingual:
        add(MULTILINGUAL, main, 0.9)
    if "eng" in d.languages or not others:
        add("MTEB(eng, v2)", main, 0.8 if (others or domain in DOMAIN_BENCHMARKS) else 1.0)
        add("MTEB(eng, v1)", main, 0.5)
        if main == "Retrieval":
            add("BEIR", "Mean", 0.4)
    else:
        add(MULTILINGUAL, main, 0.5)
        add("MTEB(eng, v2)", main, 0.2)
    for extra in types[1:]:
        add("MTEB(eng, v2)" if "eng" in d.languages else MULTILINGUAL, extra, 0.3)
    seen: set[tuple] = set()
    unique = []
    for w in wants:
        key = (w.benchmark, w.task_type, w.language)
        if key not in seen:
            seen.add(key)
            unique.append(w)
    return unique


def figures(scores: list[dict], wants: list[Want]) -> dict[tuple, dict]:
    """The comparable figure of each wanted (benchmark, task type, language) in one model's scores."""
    index = {(w.benchmark, w.task_type, w.language) for w in wants}

    def rank(s: dict) -> int:  # which figure stands for the benchmark when it has several means
        return MEAN_TASKS.index(s["task"]) if s["task"] in MEAN_TASKS else 0

    out: dict[tuple, dict] = {}
    for s in scores:
        wanted_kind = s["task"] in MEAN_TASKS if s["task_type"] == "Mean" else s["task"] == "mean"
        key = (s["benchmark"], s["task_type"], s.get("language"))
        if s["comparable"] and wanted_kind and key in index and (key not in out or rank(s) < rank(out[key])):
            out[key] = s
    return out


def percentiles(per_model: dict[str, dict[tuple, dict]]) -> dict[tuple, dict[str, float]]:
    """Each model's percentile (0-1) within every benchmark figure, among the models that have it."""
    columns: dict[tuple, list[tuple[float, str]]] = {}
    for mid, figs in per_model.items():
        for key, s in figs.items():
            columns.setdefault(key, []).append((s["value"], mid))
    out: dict[tuple, dict[str, float]] = {}
    for key, values in columns.items():
        values.sort()
        n = len(values)
        ranks: dict[str, float] = {}
        i = 0
        while i < n:  # ties share their mean rank
            j = i
            while j + 1 < n and values[j + 1][0] == values[i][0]:
                j += 1
            mid_rank = (i + j) / 2
            for k in range(i, j + 1):
                ranks[values[k][1]] = mid_rank / (n - 1) if n > 1 else 0.5
            i = j + 1
        out[key] = ranks
    return out


ZERO_SHOT_FLOOR = 0.6  # a model trained on every task of a benchmark keeps 60% of its standing there


def evidence_for(model_id: str, figs: dict[tuple, dict], pct: dict[tuple, dict[str, float]],
                 wants: list[Want]) -> dict:
    """One model's evidence: the matching figures, their weights, a combined score (0-100) and its basis."""
    entries = []
    total_w = sum(w.weight for w in wants)
    got_w = 0.0
    acc = 0.0
    for w in wants:
        key = (w.benchmark, w.task_type, w.language)
        s = figs.get(key)
        if s is None:
            continue
        p = pct[key][model_id]
        zs = s.get("zero_shot_pct")
        factor = 1.0 if zs is None else ZERO_SHOT_FLOOR + (1 - ZERO_SHOT_FLOOR) * zs / 100
        if s.get("self_reported"):
            factor *= 0.97
        entries.append({"benchmark": w.benchmark, "task_type": w.task_type, "language": w.language,
                        "value": s["value"], "zero_shot_pct": zs, "self_reported": bool(s.get("self_reported")),
                        "percentile": round(p * 100, 1), "weight": w.weight, "discount": round(1 - factor, 3),
                        "label": w.label})
        acc += w.weight * p * factor
        got_w += w.weight
    if not entries:
        return {"score": None, "coverage": 0.0, "entries": [], "basis": "none"}
    # The more specific the matched evidence, the narrower the uncertainty: coverage of the plan's weight.
    coverage = got_w / total_w if total_w else 0.0
    first = wants[0]
    primary = (entries[0]["benchmark"], entries[0]["task_type"], entries[0]["language"]) == (
        first.benchmark, first.task_type, first.language)
    return {"score": round(100 * acc / got_w, 1), "coverage": round(coverage, 3), "entries": entries,
            "basis": "matched" if primary else "related"}


def describe(ev: dict) -> str:
    """The reason text of a benchmark term."""
    if not ev["entries"]:
        return ev.get("note") or "no benchmark figure for these requirements: validate it on your data"
    parts = []
    for e in ev["entries"][:3]:
        bits = [f"{e['label']} {e['value']:.1f}"]
        if e["zero_shot_pct"] is not None and e["zero_shot_pct"] < 100:
            bits.append(f"trained on {100 - e['zero_shot_pct']:.0f}% of its tasks, discounted")
        if e["self_reported"]:
            bits.append("self-reported")
        parts.append(bits[0] + (f" ({'; '.join(bits[1:])})" if len(bits) > 1 else ""))
    more = len(ev["entries"]) - 3
    text = "; ".join(parts) + (f"; +{more} more" if more > 0 else "")
    if ev["basis"] == "related":
        text += " (a related benchmark, not the best match: wider uncertainty)"
    return text

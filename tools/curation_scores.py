"""Benchmark figures for the curated models, from the reference score tables (mteb's own loader over the
embeddings-benchmark/results repository). Used by tools/curate_from_reference.py; writes no file itself.

Per model and benchmark: the benchmark mean (`Mean (Task)`; a partial mean is kept with comparable=false), the mean
over task types, the public-task mean where the benchmark has private tasks (RTEB's leaderboard figure), and each
task-type mean; per language, the Retrieval mean within MTEB(Multilingual, v2). Every row carries the zero-shot share
(mteb's computation; None where the model declares no training data) and whether any result is self-reported.
"""
from __future__ import annotations

import csv
import math
from pathlib import Path

RESULTS_COMMIT = "f4cc6c8b365a3c779dbc708d6affe0b0355b2ddf"
TYPE_COLUMNS = [
    "Retrieval", "Classification", "MultilabelClassification", "Clustering", "STS", "Reranking", "PairClassification",
    "Summarization", "BitextMining", "InstructionRetrieval", "InstructionReranking", "DocumentUnderstanding",
    "Any2AnyRetrieval", "AudioClassification", "AudioClustering", "AudioPairClassification", "AudioReranking",
    "AudioZeroshotClassification", "AudioMultilabelClassification", "ImageClassification", "ImageClustering",
    "ZeroShotClassification", "VisionCentricQA", "Compositionality", "VisualSTS(eng)", "VisualSTS(multi)",
    "Any2AnyMultilingualRetrieval", "VideoCentricQA", "VideoClassification", "VideoClustering",
    "VideoPairClassification", "VideoZeroshotClassification", "Regression",
]
# Benchmarks left out: superseded variants whose figures would only repeat another row.
SKIP_BENCHMARKS = {"MTEB(Europe, v1)", "MTEB(Multilingual, v1)", "MTEB(slk, v1)", "ChemTEB(v1.1)", "JMTEB-lite(v1)",
                   "MTEB(rus, v1)", "MTEB(fas, v1)"}
RETRIEVAL_TASKS = ["SciFact", "NFCorpus", "ArguAna", "FiQA2018", "TRECCOVID"]


def _num(text: str | None) -> float | None:
    try:
        value = float(text)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def _results_ref(model: str) -> str:
    return f"embeddings-benchmark/results@{RESULTS_COMMIT[:12]} results/{model.replace('/', '__')}"


def _read(path: Path) -> list[dict]:
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


class ScoreTables:
    """The reference score files, indexed by model name (the results folder's name and mteb's ModelMeta name)."""

    def __init__(self, reference: Path) -> None:
        zero = {(r["model"], r["benchmark"]): r for r in _read(reference / "zero_shot.csv")}
        self.by_model: dict[str, list[dict]] = {}
        for row in _read(reference / "mteb_scores.csv"):
            z = zero.get((row["model"], row["benchmark"]), {})
            row = {**row, "zero_shot_pct": z.get("zero_shot_pct", ""), "training_overlap_tasks":
                   z.get("training_overlap_tasks", "")}
            self._add(row)
        for row in _read(reference / "mteb_scores_more.csv"):
            if row["benchmark"] not in SKIP_BENCHMARKS:
                self._add(row)
        self.languages: dict[str, list[dict]] = {}
        for row in _read(reference / "mteb_language_retrieval.csv"):
            if row["subset_rule"] == "monolingual":
                self.languages.setdefault(row["model"], []).append(row)
        self.retrieval = {r["model"]: r for r in _read(reference / "mteb_retrieval_tasks.csv")}
        for r in list(self.retrieval.values()):
            if r.get("mteb_meta_name"):
                self.retrieval.setdefault(r["mteb_meta_name"], r)

    def _add(self, row: dict) -> None:
        for name in {row["model"], row.get("mteb_meta_name") or row["model"]}:
            self.by_model.setdefault(name, []).append(row)

    def scores_for(self, name: str) -> list[dict]:
        out: list[dict] = []
        seen: set[tuple] = set()
        for row in self.by_model.get(name, []):
            key = (row["model"], row["benchmark"])
            if key in seen:
                continue
            seen.add(key)
            out.extend(_benchmark_rows(row))
        model_for_langs = name if name in self.languages else next(
            (r["model"] for r in self.by_model.get(name, []) if r["model"] in self.languages), None)
        for row in self.languages.get(model_for_langs or "", []):
            complete = row["complete"] == "True"
            value = _num(row["mean_main_score"] if complete else row["partial_mean"])
            if value is None:
                continue
            out.append({"benchmark": "MTEB(Multilingual, v2)", "task_type": "Retrieval", "task": "mean",
                        "metric": "main_score", "value": value, "comparable": complete, "language": row["language"],
                        "source": _results_ref(row["model"]) + f" (Retrieval tasks with {row['language']} subsets: "
                        f"{row['n_tasks']} of {row['n_tasks_in_benchmark']})"})
        retrieval = self.retrieval.get(name)
        if retrieval:
            for task in RETRIEVAL_TASKS:
                value = _num(retrieval.get(task))
                if value is not None:
                    out.append({"benchmark": "MTEB", "task_type": "Retrieval", "task": task, "metric": "ndcg_at_10",
                                "value": value, "comparable": True,
                                "source": _results_ref(retrieval["model"]) + f" {task} (test split)"})
        return out


def _benchmark_rows(row: dict) -> list[dict]:
    bench = row["benchmark"]
    complete = row["complete"] == "True"
    zero = _num(row.get("zero_shot_pct"))
    common = {"benchmark": bench, "metric": "main_score", "zero_shot_pct": zero,
              "self_reported": row.get("any_external_or_unversioned_results") == "True"}
    ref = _results_ref(row["model"])
    overlap = row.get("training_overlap_tasks") or ""
    note = f"; trained on {overlap.replace(';', ', ')}" if overlap and zero is not None and zero < 100 else ""
    rows = []
    if complete and _num(row["mean_task"]) is not None:
        rows.append({**common, "task_type": "Mean", "task": "Mean (Task)", "value": _num(row["mean_task"]),
                     "comparable": True, "source": f"{ref} ({row['n_tasks_benchmark']} tasks{note})"})
    elif _num(row.get("partial_mean_over_available_tasks")) is not None:
        rows.append({**common, "task_type": "Mean", "task": "Mean (Task)",
                     "value": _num(row["partial_mean_over_available_tasks"]), "comparable": False,
                     "source": f"{ref} (partial mean over {row['n_tasks_scored']} of {row['n_tasks_benchmark']} "
                               f"tasks; not comparable with complete means)"})
    if _num(row.get("mean_tasktype")) is not None:
        rows.append({**common, "task_type": "Mean", "task": "Mean (TaskType)", "value": _num(row["mean_tasktype"]),
                     "comparable": True, "source": ref})
    if _num(row.get("mean_public")) is not None:
        rows.append({**common, "task_type": "Mean", "task": "Mean (Public)", "value": _num(row["mean_public"]),
                     "comparable": True, "source": f"{ref} (public tasks: the leaderboard's figure)"})
    for task_type in TYPE_COLUMNS:
        value = _num(row.get(task_type))
        if value is not None:
            rows.append({**common, "task_type": task_type, "task": "mean", "value": value, "comparable": True,
                         "source": ref})
    return rows


SCORE_COLUMNS = ["model_id", "benchmark", "task_type", "task", "metric", "value", "comparable", "zero_shot_pct",
                 "self_reported", "language", "source"]


def write_csv(rows: list[dict]) -> str:
    import io

    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=SCORE_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        out = {k: row.get(k) for k in SCORE_COLUMNS}
        out["comparable"] = "1" if row.get("comparable", True) else "0"
        out["self_reported"] = "1" if row.get("self_reported") else "0"
        out["zero_shot_pct"] = "" if row.get("zero_shot_pct") is None else f"{row['zero_shot_pct']:g}"
        out["language"] = row.get("language") or ""
        out["value"] = f"{row['value']:g}"
        writer.writerow(out)
    return buffer.getvalue()

"""The user's data: load it, detect which task it is for, and refuse malformed files with file:line and a fix.

Layouts understood (``--data`` is a folder or a file):

- retrieval: a BEIR folder (``corpus.jsonl`` {_id, title, text}, ``queries.jsonl`` {_id, text}, ``qrels.tsv`` or
  ``qrels/test.tsv`` with query-id, corpus-id, score) or the same as CSV (``corpus.csv``, ``queries.csv``, ``qrels.csv``);
- classification: ``text,label`` in CSV/TSV/JSONL: a folder with ``train`` and ``test`` files, or one file that is split
  with a seed;
- STS: ``sentence1, sentence2, score`` (or ``s1, s2, score``) in TSV/CSV/JSONL;
- clustering: ``text,label`` (give ``--task clustering``; the same layout means classification otherwise);
- an unlabeled corpus only (a corpus file without queries and qrels, a text-only CSV/JSONL, or a .txt file with one
  document per line): a self-supervised retrieval set is built from it (inverse cloze: a sentence of a document is the
  query, the rest of the document its target) and marked synthetic everywhere it appears.
"""
from __future__ import annotations

import csv
import hashlib
import io
import json
import math
import random
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Union

from embedwise.errors import BadInput

Task = Literal["retrieval", "classification", "sts", "clustering"]
TASKS: tuple[str, ...] = ("retrieval", "classification", "sts", "clustering")
DATA_SUFFIXES = (".jsonl", ".csv", ".tsv", ".txt", ".json")


# --- the loaded sets --------------------------------------------------------------------------------------------------

@dataclass
class RetrievalSet:
    corpus: dict[str, tuple[str, str]]  # id -> (title, text)
    queries: dict[str, str]  # only the queries that have judgements
    qrels: dict[str, dict[str, int]]
    name: str
    source: str
    synthetic: bool = False
    notes: list[str] = field(default_factory=list)
    task: str = "retrieval"

    def doc_text(self, doc_id: str) -> str:
        """MTEB's corpus text: (title + " " + text).strip()."""
        title, text = self.corpus[doc_id]
        return (title + " " + text).strip() if title else text.strip()

    def summary(self) -> dict:
        return {"documents": len(self.corpus), "queries": len(self.queries),
                "judgements": sum(len(v) for v in self.qrels.values())}


@dataclass
class ClassificationSet:
    train_texts: list[str]
    train_labels: list[str]
    test_texts: list[str]
    test_labels: list[str]
    name: str
    source: str
    synthetic: bool = False
    notes: list[str] = field(default_factory=list)
    task: str = "classification"

    def summary(self) -> dict:
        return {"train": len(self.train_texts), "test": len(self.test_texts),
                "labels": len(set(self.train_labels) | set(self.test_labels))}


@dataclass
class STSSet:
    sentences1: list[str]
    sentences2: list[str]
    scores: list[float]
    name: str
    source: str
    synthetic: bool = False
    notes: list[str] = field(default_factory=list)
    task: str = "sts"

    def summary(self) -> dict:
        return {"pairs": len(self.scores)}


@dataclass
class ClusteringSet:
    texts: list[str]
    labels: list[str]
    name: str
    source: str
    synthetic: bool = False
    notes: list[str] = field(default_factory=list)
    task: str = "clustering"

    def summary(self) -> dict:
        return {"texts": len(self.texts), "labels": len(set(self.labels))}


Dataset = Union[RetrievalSet, ClassificationSet, STSSet, ClusteringSet]


# --- reading files with line numbers ------------------------------------------------------------------------------------

def read_text(path: Path) -> str:
    """The file as UTF-8 text (a BOM is allowed); a decoding error names the line."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise BadInput("file not found: check the path", where=str(path)) from None
    except IsADirectoryError:
        raise BadInput("expected a file, found a folder", where=str(path)) from None
    except OSError as exc:
        raise BadInput(f"cannot read the file: {exc.strerror}", where=str(path)) from None
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise BadInput(
            f"not valid UTF-8 (byte 0x{raw[exc.start]:02x} at offset {exc.start}); save the file as UTF-8, "
            f"e.g. `iconv -f latin1 -t utf-8 {path.name} > fixed_{path.name}`", where=f"{path}:{line}") from None


@dataclass
class Row:
    line: int
    values: dict[str, str]


def _norm_col(name: str) -> str:
    return name.strip().lower().replace("-", "_").replace(" ", "_")


def read_table(path: Path) -> tuple[list[str], list[Row]]:
    """Rows of a CSV, TSV or JSONL file as normalised column -> string, with the line each row starts on.

    TSV is read without quoting (quotes are ordinary characters there); CSV with standard quoting.
    A .txt file is one document per non-blank line, column `text`.
    """
    text = read_text(path)
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".json"):
        return _read_jsonl(path, text)
    if suffix == ".txt":
        rows = [Row(i, {"text": line.strip()}) for i, line in enumerate(text.splitlines(), 1) if line.strip()]
        return ["text"], rows
    delimiter = "\t" if suffix == ".tsv" else ","
    quoting = csv.QUOTE_NONE if suffix == ".tsv" else csv.QUOTE_MINIMAL
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, quoting=quoting, strict=True)
    rows: list[Row] = []
    header: list[str] | None = None
    prev_end = 0
    try:
        for record in reader:
            start = prev_end + 1
            prev_end = reader.line_num
            if not record or all(not c.strip() for c in record):
                continue
            if header is None:
                header = [_norm_col(c) for c in record]
                if len(set(header)) != len(header):
                    raise BadInput(f"duplicate column names in the header: {record}", where=f"{path}:{start}")
                continue
            if len(record) != len(header):
                raise BadInput(
                    f"{len(record)} fields where the header has {len(header)} ({', '.join(header)}); "
                    + ("quote fields that contain commas" if delimiter == "," else "fields must not contain tabs"),
                    where=f"{path}:{start}")
            rows.append(Row(start, dict(zip(header, record))))
    except csv.Error as exc:
        raise BadInput(f"malformed {'TSV' if delimiter == chr(9) else 'CSV'}: {exc}", where=f"{path}:{reader.line_num}") from None
    if header is None:
        raise BadInput("the file is empty: it needs a header line and at least one row", where=f"{path}:1")
    return header, rows


def _read_jsonl(path: Path, text: str) -> tuple[list[str], list[Row]]:
    rows: list[Row] = []
    columns: list[str] = []
    for i, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise BadInput(f"not valid JSON ({exc.msg} at column {exc.colno}); each line must be one JSON object",
                           where=f"{path}:{i}") from None
        except RecursionError:
            raise BadInput("JSON nested too deeply; each line must be one flat JSON object", where=f"{path}:{i}") from None
        if not isinstance(obj, dict):
            raise BadInput(f"each line must be a JSON object, found {type(obj).__name__}", where=f"{path}:{i}")
        values = {}
        for k, v in obj.items():
            key = _norm_col(str(k))
            if key not in columns:
                columns.append(key)
            values[key] = v if isinstance(v, str) else ("" if v is None else (json.dumps(v) if isinstance(v, (dict, list)) else str(v)))
        rows.append(Row(i, values))
    return columns, rows


def _require(path: Path, columns: list[str], wanted: list[tuple[str, ...]], what: str) -> list[str]:
    """Pick, for each wanted column (a tuple of accepted names), the name present; else a wrong-columns error."""
    chosen = []
    for names in wanted:
        hit = next((n for n in names if n in columns), None)
        if hit is None:
            need = ", ".join(" or ".join(n) for n in wanted)
            raise BadInput(f"wrong columns for {what}: found [{', '.join(columns) or 'none'}], need {need}",
                           where=f"{path}:1")
        chosen.append(hit)
    return chosen


# --- detection ---------------------------------------------------------------------------------------------------------

def _find(folder: Path, stem: str) -> Path | None:
    for suffix in (".jsonl", ".csv", ".tsv", ".json"):
        p = folder / f"{stem}{suffix}"
        if p.exists():
            return p
    return None


def _find_qrels(folder: Path) -> Path | None:
    for candidate in (folder / "qrels.tsv", folder / "qrels.csv", folder / "qrels" / "test.tsv",
                      folder / "qrels" / "dev.tsv", folder / "qrels" / "train.tsv"):
        if candidate.exists():
            return candidate
    return None


def _data_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in DATA_SUFFIXES
                  and not p.name.startswith("."))


def _peek_columns(path: Path) -> list[str]:
    return read_table(path)[0]


def detect_task(path: Path) -> tuple[str, bool]:
    """(task, synthetic) from the layout and the column names."""
    path = Path(path)
    if not path.exists():
        raise BadInput("no such file or folder: check --data", where=str(path))
    from embedwise.validators.media.data import media_task

    media = media_task(path)  # images or audio
    if media is not None:
        return (media, False)
    if path.is_dir():
        if _find(path, "corpus"):
            has_q, has_qrels = _find(path, "queries") is not None, _find_qrels(path) is not None
            return ("retrieval", not (has_q or has_qrels))
        if _find(path, "train") or _find(path, "test"):
            return ("classification", False)
        files = _data_files(path)
        if len(files) == 1:
            return detect_task(files[0])
        if not files:
            raise BadInput("no data file found: expected corpus.jsonl + queries.jsonl + qrels.tsv, train/test files, "
                           "or one CSV/TSV/JSONL file", where=str(path))
        raise BadInput(f"several data files and no known layout ({', '.join(f.name for f in files[:5])}); "
                       "point --data at one file or use the BEIR / train+test layout", where=str(path))
    columns = _peek_columns(path)
    cols = set(columns)
    if {"score"} <= cols and ({"sentence1", "sentence2"} <= cols or {"s1", "s2"} <= cols):
        return ("sts", False)
    if {"text", "label"} <= cols:
        return ("classification", False)
    if "text" in cols:
        return ("retrieval", True)
    raise BadInput(f"cannot tell the task from the columns [{', '.join(columns)}]: use text,label (classification, "
                   "clustering), sentence1,sentence2,score (STS), or text alone (an unlabeled corpus)",
                   where=f"{path}:1")


def load_data(path: str | Path, task: str | None = None, seed: int = 42, synthetic_queries: int = 200) -> Dataset:
    """Load `path` as a data set for `task` (detected when None)."""
    path = Path(path).expanduser()
    if task is not None and task not in TASKS:
        raise BadInput(f"unknown task {task!r}: use one of {', '.join(TASKS)}", where="--task")
    from embedwise.validators.media.data import load_media, media_task

    if media_task(path) is not None:  # images or audio
        return load_media(path, task, seed=seed)  # type: ignore[return-value]
    if task is None:
        task, synthetic = detect_task(path)
    else:
        if not path.exists():
            raise BadInput("no such file or folder: check --data", where=str(path))
        synthetic = not (path.is_dir() and _find(path, "corpus") is not None
                         and (_find(path, "queries") is not None or _find_qrels(path) is not None))
    name = path.name or str(path)
    if task == "retrieval":
        if path.is_dir() and _find(path, "corpus") and not synthetic:
            return load_beir(path)
        corpus_file = _find(path, "corpus") if path.is_dir() else path
        if corpus_file is None:
            raise BadInput("retrieval needs corpus + queries + qrels, or a corpus to build a synthetic set from",
                           where=str(path))
        corpus = load_corpus(corpus_file)
        return build_synthetic(corpus, name=name, source=str(corpus_file), seed=seed, max_queries=synthetic_queries)
    if task in ("classification", "clustering"):
        if path.is_dir():
            train, test = _find(path, "train"), _find(path, "test")
            if train is None and test is None:
                files = _data_files(path)
                if len(files) != 1:
                    raise BadInput("classification needs train and test files (text,label) or one file",
                                   where=str(path))
                train = files[0]
        else:
            train, test = path, None
        if task == "clustering":
            texts, labels = [], []
            for f in (train, test):
                if f is not None:
                    t, lab = load_labelled(f)
                    texts += t
                    labels += lab
            return ClusteringSet(texts, labels, name=name, source=str(path))
        if train is None:
            raise BadInput("a test file without a train file: add train.csv (text,label)", where=str(path / "train.csv"))
        train_texts, train_labels = load_labelled(train)
        if test is None:
            return _split_classification(train_texts, train_labels, name, str(path), seed)
        test_texts, test_labels = load_labelled(test)
        unknown = sorted(set(test_labels) - set(train_labels))
        notes = [f"{len(unknown)} test labels never occur in train (e.g. {unknown[0]!r})"] if unknown else []
        return ClassificationSet(train_texts, train_labels, test_texts, test_labels, name=name, source=str(path),
                                 notes=notes)
    if task == "sts":
        file = path
        if path.is_dir():
            files = _data_files(path)
            if len(files) != 1:
                raise BadInput("STS needs one file with sentence1, sentence2, score", where=str(path))
            file = files[0]
        return load_sts(file, name)
    raise BadInput(f"unknown task {task!r}", where="--task")


# --- retrieval ---------------------------------------------------------------------------------------------------------

def load_corpus(path: Path) -> dict[str, tuple[str, str]]:
    columns, rows = read_table(path)
    if not rows:
        raise BadInput("the corpus is empty: add at least one document", where=f"{path}:1")
    id_col = next((c for c in ("_id", "id", "doc_id", "docid", "corpus_id") if c in columns), None)
    (text_col,) = _require(path, columns, [("text", "contents", "body")], "a corpus")
    title_col = "title" if "title" in columns else None
    corpus: dict[str, tuple[str, str]] = {}
    first_line: dict[str, int] = {}
    for n, row in enumerate(rows):
        doc_id = (row.values.get(id_col) or "").strip() if id_col else str(n)
        if id_col and not doc_id:
            raise BadInput(f"document without an id (column {id_col!r} is empty or missing)", where=f"{path}:{row.line}")
        if doc_id in corpus:
            raise BadInput(f"duplicate document id {doc_id!r} (first on line {first_line[doc_id]}); ids must be unique",
                           where=f"{path}:{row.line}")
        if text_col not in row.values:
            raise BadInput(f"document {doc_id!r} has no {text_col!r} field", where=f"{path}:{row.line}")
        corpus[doc_id] = (row.values.get(title_col, "") if title_col else "", row.values.get(text_col) or "")
        first_line[doc_id] = row.line
    if not corpus:
        raise BadInput("the corpus is empty: add at least one document", where=f"{path}:1")
    return corpus


def load_queries(path: Path) -> dict[str, tuple[str, int]]:
    columns, rows = read_table(path)
    id_col, text_col = _require(path, columns, [("_id", "id", "query_id", "qid"), ("text", "query")], "queries")
    queries: dict[str, tuple[str, int]] = {}
    for row in rows:
        qid = (row.values.get(id_col) or "").strip()
        if not qid:
            raise BadInput("query without an id", where=f"{path}:{row.line}")
        if qid in queries:
            raise BadInput(f"duplicate query id {qid!r} (first on line {queries[qid][1]}); ids must be unique",
                           where=f"{path}:{row.line}")
        queries[qid] = (row.values.get(text_col) or "", row.line)
    if not queries:
        raise BadInput("no queries: add at least one", where=f"{path}:1")
    return queries


def load_qrels(path: Path) -> list[tuple[int, str, str, int]]:
    """(line, query id, doc id, relevance). TSV/CSV with header query-id, corpus-id, score; or TREC's 4 columns."""
    text = read_text(path)
    delimiter = "," if path.suffix.lower() == ".csv" else "\t"
    out: list[tuple[int, str, str, int]] = []
    first = True
    for i, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        parts = [p.strip() for p in (line.split(delimiter) if delimiter in line else line.split())]
        if first:
            first = False
            low = [p.lower() for p in parts]
            if any(p in ("query-id", "query_id", "qid", "query") for p in low) or (len(parts) >= 3 and not _is_number(parts[-1])):
                continue  # the header
        if len(parts) == 4:  # TREC: qid iter docid rel
            parts = [parts[0], parts[2], parts[3]]
        if len(parts) != 3:
            raise BadInput(f"expected 3 columns (query-id, corpus-id, score), found {len(parts)}",
                           where=f"{path}:{i}")
        qid, did, score = parts
        if not _is_number(score):
            raise BadInput(f"relevance score {score!r} is not a number", where=f"{path}:{i}")
        out.append((i, qid, did, int(float(score))))
    if not out:
        raise BadInput("no judgements in the qrels file: add lines query-id<TAB>corpus-id<TAB>score", where=f"{path}:1")
    return out


def _is_number(s: str) -> bool:
    """A finite number: NaN and infinities are not relevance scores."""
    try:
        return math.isfinite(float(s))
    except ValueError:
        return False


def load_beir(folder: Path) -> RetrievalSet:
    corpus_file, queries_file, qrels_file = _find(folder, "corpus"), _find(folder, "queries"), _find_qrels(folder)
    if queries_file is None:
        raise BadInput("missing queries file: add queries.jsonl ({\"_id\", \"text\"} per line) or queries.csv",
                       where=str(folder / "queries.jsonl"))
    if qrels_file is None:
        raise BadInput("missing qrels file: add qrels.tsv (query-id, corpus-id, score)", where=str(folder / "qrels.tsv"))
    assert corpus_file is not None
    corpus = load_corpus(corpus_file)
    queries = load_queries(queries_file)
    qrels: dict[str, dict[str, int]] = {}
    for line, qid, did, score in load_qrels(qrels_file):
        if qid not in queries:
            raise BadInput(f"query id {qid!r} is not in {queries_file.name}: fix the id or add the query",
                           where=f"{qrels_file}:{line}")
        if did not in corpus:
            raise BadInput(f"corpus id {did!r} is not in {corpus_file.name}: fix the id or add the document",
                           where=f"{qrels_file}:{line}")
        qrels.setdefault(qid, {})[did] = score
    judged = {q: queries[q][0] for q in queries if q in qrels}
    notes = []
    if len(judged) < len(queries):
        notes.append(f"{len(queries) - len(judged)} queries have no judgements and are not evaluated")
    return RetrievalSet(corpus=corpus, queries=judged, qrels=qrels, name=folder.name, source=str(folder), notes=notes)


_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(\[])")


def split_sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE.split(text.strip()) if s.strip()]


def build_synthetic(corpus: dict[str, tuple[str, str]], name: str, source: str, seed: int = 42,
                    max_queries: int = 200) -> RetrievalSet:
    """A self-supervised retrieval set (inverse cloze task): a sentence of a document is the query, the document with
    that sentence removed is its only relevant target. Documents of one sentence give a span of their words instead."""
    if len(corpus) < 2:
        raise BadInput("an unlabeled corpus needs at least 2 documents to build a synthetic retrieval set",
                       where=f"{source}:1")
    rng = random.Random(seed)
    ids = list(corpus)
    rng.shuffle(ids)
    new_corpus = dict(corpus)
    queries: dict[str, str] = {}
    qrels: dict[str, dict[str, int]] = {}
    for doc_id in ids:
        if len(queries) >= max_queries:
            break
        title, text = corpus[doc_id]
        sentences = split_sentences(text)
        usable = [i for i, s in enumerate(sentences) if len(s.split()) >= 4]
        if len(sentences) >= 2 and usable:
            pick = rng.choice(usable)
            query = sentences[pick]
            new_corpus[doc_id] = (title, " ".join(s for i, s in enumerate(sentences) if i != pick))
        else:
            words = text.split()
            if len(words) < 6:
                continue
            span = max(3, len(words) // 3)
            start = rng.randrange(0, len(words) - span + 1)
            query = " ".join(words[start:start + span])
        qid = "syn-" + hashlib.sha1(f"{doc_id}\x00{query}".encode()).hexdigest()[:10]
        queries[qid] = query
        qrels[qid] = {doc_id: 1}
    if not queries:
        raise BadInput("no document is long enough to make a synthetic query (need 6+ words)", where=f"{source}:1")
    return RetrievalSet(corpus=new_corpus, queries=queries, qrels=qrels, name=name, source=source, synthetic=True,
                        notes=[f"synthetic: {len(queries)} queries made from the corpus (a sentence of a document as "
                               "the query, the rest of the document as its target)"])


# --- classification, clustering, STS ----------------------------------------------------------------------------------

def load_labelled(path: Path) -> tuple[list[str], list[str]]:
    columns, rows = read_table(path)
    text_col, label_col = _require(path, columns, [("text", "sentence"), ("label", "labels", "category")],
                                   "classification/clustering")
    texts, labels = [], []
    for row in rows:
        label = (row.values.get(label_col) or "").strip()
        if not label:
            raise BadInput(f"empty {label_col!r}: every row needs a label", where=f"{path}:{row.line}")
        if text_col not in row.values:
            raise BadInput(f"row has no {text_col!r} field", where=f"{path}:{row.line}")
        texts.append(row.values[text_col])
        labels.append(label)
    if not texts:
        raise BadInput("no rows: add at least one text,label row", where=f"{path}:1")
    return texts, labels


def _split_classification(texts: list[str], labels: list[str], name: str, source: str, seed: int,
                          test_fraction: float = 0.2) -> ClassificationSet:
    """Stratified, seeded split of one file into train and test."""
    rng = random.Random(seed)
    by_label: dict[str, list[int]] = {}
    for i, lab in enumerate(labels):
        by_label.setdefault(lab, []).append(i)
    train_idx, test_idx = [], []
    for lab in sorted(by_label):
        idx = by_label[lab]
        rng.shuffle(idx)
        n_test = int(round(len(idx) * test_fraction)) if len(idx) >= 2 else 0
        n_test = min(max(n_test, 1 if len(idx) >= 2 else 0), len(idx) - 1)
        test_idx += idx[:n_test]
        train_idx += idx[n_test:]
    if not test_idx:
        raise BadInput("too few rows to split into train and test: give separate train and test files",
                       where=f"{source}:1")
    train_idx.sort()
    test_idx.sort()
    return ClassificationSet([texts[i] for i in train_idx], [labels[i] for i in train_idx],
                             [texts[i] for i in test_idx], [labels[i] for i in test_idx], name=name, source=source,
                             notes=[f"one file split {1 - test_fraction:.0%}/{test_fraction:.0%} (stratified, seed {seed})"])


def load_sts(path: Path, name: str | None = None) -> STSSet:
    columns, rows = read_table(path)
    wanted = [("sentence1", "s1"), ("sentence2", "s2"), ("score", "label", "similarity")]
    c1, c2, cs = _require(path, columns, wanted, "STS pairs")
    s1, s2, scores = [], [], []
    for row in rows:
        raw = (row.values.get(cs) or "").strip()
        try:
            score = float(raw)
        except ValueError:
            raise BadInput(f"score {raw!r} is not a number", where=f"{path}:{row.line}") from None
        if score != score:
            raise BadInput("score is NaN", where=f"{path}:{row.line}")
        s1.append(row.values.get(c1) or "")
        s2.append(row.values.get(c2) or "")
        scores.append(score)
    if len(scores) < 3:
        raise BadInput("STS needs at least 3 pairs to compute a correlation", where=f"{path}:1")
    return STSSet(s1, s2, scores, name=name or path.stem, source=str(path))

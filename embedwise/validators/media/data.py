"""Image and audio data: detect it, load it, and set aside the files that cannot be read (file and reason, counted).

Layouts (``--data`` is a folder or a file):

- retrieval: a folder with ``queries.jsonl`` (``_id`` and ``text`` for a text query, or ``image`` / ``audio``: a file
  path relative to the folder), ``qrels.tsv`` (query-id, corpus-id, score) and the images or WAV files searched: under
  ``corpus/`` when that folder exists, else anywhere in the folder except the query files. A corpus id is the file's
  path relative to that root (``cats/tabby.png``);
- classification: ``image,label`` or ``audio,label`` (``path,label`` works too) in CSV/TSV/JSONL, paths relative to
  the table's folder: a folder with ``train`` and ``test`` tables, or one table split with a seed.

Every file is read once at load (hashed for the embedding cache, decoded to check it): a damaged, empty or unsupported
file is left out with its reason, a query or judgement that needs it goes with it, and the run goes on.
"""
from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

from embedwise.errors import BadInput
from embedwise.validators.data import (
    _find,
    _find_qrels,
    _split_classification,
    load_qrels,
    read_table,
)
from embedwise.validators.media.decode import Media, MediaError, media_kind, open_file

TABLE_SUFFIXES = (".csv", ".tsv", ".jsonl", ".json")
MEDIA_COLUMNS = ("image", "audio", "image_path", "audio_path", "path", "file")
LABEL_COLUMNS = ("label", "labels", "category", "class")
ID_COLUMNS = ("_id", "id", "query_id", "qid")
SHOWN_BAD_FILES = 5


@dataclass
class BadFiles:
    """The files left out, each with its reason."""

    entries: list[dict] = field(default_factory=list)

    def add(self, path: Path, reason: str) -> None:
        self.entries.append({"file": str(path), "reason": reason})

    def note(self, modality: str) -> list[str]:
        if not self.entries:
            return []
        shown = "; ".join(f"{e['file']}: {e['reason']}" for e in self.entries[:SHOWN_BAD_FILES])
        more = f"; and {len(self.entries) - SHOWN_BAD_FILES} more" if len(self.entries) > SHOWN_BAD_FILES else ""
        return [f"{len(self.entries)} {modality} file(s) could not be read and were left out ({shown}{more})"]


@dataclass
class MediaRetrievalSet:
    corpus: dict[str, Media]  # id (the path relative to the corpus root) -> the file
    queries: dict[str, Media]  # only the queries that have judgements: texts or files
    qrels: dict[str, dict[str, int]]
    name: str
    source: str
    modality: str  # "image" or "audio"
    bad_files: list[dict] = field(default_factory=list)
    synthetic: bool = False
    notes: list[str] = field(default_factory=list)
    task: str = "retrieval"

    def summary(self) -> dict:
        text = sum(1 for q in self.queries.values() if q.kind == "text")
        return {"documents": len(self.corpus), "queries": len(self.queries), "text_queries": text,
                f"{self.modality}_queries": len(self.queries) - text,
                "judgements": sum(len(v) for v in self.qrels.values()), "bad_files": len(self.bad_files),
                "bad_file_reasons": self.bad_files, "modality": self.modality}


@dataclass
class MediaClassificationSet:
    train_items: list[Media]
    train_labels: list[str]
    test_items: list[Media]
    test_labels: list[str]
    name: str
    source: str
    modality: str
    bad_files: list[dict] = field(default_factory=list)
    synthetic: bool = False
    notes: list[str] = field(default_factory=list)
    task: str = "classification"

    def summary(self) -> dict:
        return {"train": len(self.train_items), "test": len(self.test_items),
                "labels": len(set(self.train_labels) | set(self.test_labels)), "bad_files": len(self.bad_files),
                "bad_file_reasons": self.bad_files, "modality": self.modality}


# --- detection ---------------------------------------------------------------------------------------------------------

def _header(path: Path) -> list[str]:
    """The column names of a table from its first line (a whole text corpus is not read to detect the task)."""
    try:
        with open(path, encoding="utf-8-sig", errors="replace") as fh:
            line = next((ln for ln in fh if ln.strip()), "")
    except OSError:
        return []
    if path.suffix.lower() in (".jsonl", ".json"):
        import json

        try:
            obj = json.loads(line)
        except ValueError:
            return []
        return [str(k).strip().lower() for k in obj] if isinstance(obj, dict) else []
    delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
    return [c.strip().lower().replace("-", "_").replace(" ", "_") for c in next(csv.reader([line], delimiter=delimiter), [])]


def _media_column(columns: list[str]) -> str | None:
    """The column naming the files of a labelled table; none for a table with a `text` column (text data, whatever
    else it holds)."""
    if "text" in columns or not any(c in LABEL_COLUMNS for c in columns):
        return None
    return next((c for c in MEDIA_COLUMNS if c in columns), None)


def _tables(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in TABLE_SUFFIXES
                  and not p.name.startswith("."))


def _classification_tables(folder: Path) -> list[Path]:
    named = [t for t in (_find(folder, "train"), _find(folder, "test")) if t is not None]
    return [t for t in (named or _tables(folder)) if _media_column(_header(t))]


def _has_media_file(folder: Path) -> bool:
    return next((True for p in folder.rglob("*") if p.is_file() and media_kind(p)), False)


def media_task(path: Path) -> str | None:
    """"retrieval" or "classification" when `path` is image or audio data, None when it is text data."""
    path = Path(path)
    if path.is_file():
        return "classification" if path.suffix.lower() in TABLE_SUFFIXES and _media_column(_header(path)) else None
    if not path.is_dir() or _find(path, "corpus") is not None:
        return None
    if _classification_tables(path):
        return "classification"
    if (_find(path, "queries") is not None or not _tables(path)) and _has_media_file(path):
        return "retrieval"
    return None


def load_media(path: Path, task: str | None = None, seed: int = 42) -> MediaRetrievalSet | MediaClassificationSet:
    path = Path(path)
    found = media_task(path)
    if task is not None and task != found:
        if task in ("sts", "clustering"):
            raise BadInput(f"images and audio are validated for retrieval and classification; {task} reads text",
                           where="--task")
        raise BadInput(f"this is {found} data (see the layouts in the README's 'Images and audio'), not {task}",
                       where="--task")
    if found == "classification":
        return load_classification(path, seed)
    return load_retrieval(path)


# --- retrieval ---------------------------------------------------------------------------------------------------------

def _query(row_values: dict[str, str], where: str, folder: Path, bad: BadFiles) -> Media | None:
    text = (row_values.get("text") or row_values.get("query") or "").strip()
    ref = next((row_values[c].strip() for c in MEDIA_COLUMNS if (row_values.get(c) or "").strip()), "")
    if bool(text) == bool(ref):
        raise BadInput("each query needs either `text` or a file path in `image`/`audio` (one of them, not both)",
                       where=where)
    if text:
        return Media.text(text)
    file = folder / ref
    kind = media_kind(file)
    if kind is None:
        raise BadInput(f"{ref!r} is not an image or audio file name (.png, .jpg, .wav, ...)",
                       where=where)
    try:
        return open_file(file, kind)
    except MediaError as exc:
        bad.add(file, str(exc))
        return None


def load_retrieval(folder: Path) -> MediaRetrievalSet:
    queries_file, qrels_file = _find(folder, "queries"), _find_qrels(folder)
    if queries_file is None:
        raise BadInput("an image or audio folder needs queries.jsonl ({\"_id\", \"text\"} or {\"_id\", \"image\": "
                       "\"path\"} per line) and qrels.tsv for retrieval, or an image,label table for classification",
                       where=str(folder / "queries.jsonl"))
    if qrels_file is None:
        raise BadInput("missing qrels file: add qrels.tsv (query-id, corpus-id = the file's path, score)",
                       where=str(folder / "qrels.tsv"))
    bad = BadFiles()
    columns, rows = read_table(queries_file)
    id_col = next((c for c in ID_COLUMNS if c in columns), None)
    if id_col is None:
        raise BadInput(f"queries need an `_id` column (found {', '.join(columns) or 'none'})", where=f"{queries_file}:1")
    queries: dict[str, Media | None] = {}
    for row in rows:
        qid = (row.values.get(id_col) or "").strip()
        where = f"{queries_file}:{row.line}"
        if not qid or qid in queries:
            raise BadInput("query without an id" if not qid else f"duplicate query id {qid!r}", where=where)
        queries[qid] = _query(row.values, where, folder, bad)
    query_files = {q.path.resolve() for q in queries.values() if q is not None and q.path is not None}
    root = folder / "corpus" if (folder / "corpus").is_dir() else folder
    files = sorted(p for p in root.rglob("*") if p.is_file() and media_kind(p) and not p.name.startswith(".")
                   and p.resolve() not in query_files)
    kinds = {media_kind(p) for p in files} | {q.kind for q in queries.values() if q is not None and q.kind != "text"}
    if len(kinds) > 1:
        raise BadInput("the folder holds both images and audio files: keep one kind per data folder", where=str(root))
    if not files:
        raise BadInput("no image or audio files to search in this folder", where=str(root))
    modality = kinds.pop()
    corpus: dict[str, Media] = {}
    left_out: set[str] = set()
    for p in files:
        doc_id = p.relative_to(root).as_posix()
        try:
            corpus[doc_id] = open_file(p, modality)
        except MediaError as exc:
            bad.add(p, str(exc))
            left_out.add(doc_id)
    qrels: dict[str, dict[str, int]] = {}
    dropped = 0
    for line, qid, did, score in load_qrels(qrels_file):
        if qid not in queries:
            raise BadInput(f"query id {qid!r} is not in {queries_file.name}: fix the id or add the query",
                           where=f"{qrels_file}:{line}")
        if did not in corpus and did not in left_out:
            example = next(iter(corpus), "name.png")
            raise BadInput(f"corpus id {did!r} is not a file under {root} (ids are paths relative to it, e.g. "
                           f"{example!r})", where=f"{qrels_file}:{line}")
        if queries[qid] is None or did in left_out:
            dropped += 1
            continue
        qrels.setdefault(qid, {})[did] = score
    judged = {q: m for q, m in queries.items() if m is not None and q in qrels}
    if not judged:
        raise BadInput("no query is left with a readable file and a judgement", where=str(qrels_file))
    notes = bad.note(modality)
    if dropped:
        notes.append(f"{dropped} judgement(s) name a file that could not be read and were left out")
    unjudged = sum(1 for q, m in queries.items() if m is not None and q not in qrels)
    if unjudged:
        notes.append(f"{unjudged} queries have no judgements and are not evaluated")
    return MediaRetrievalSet(corpus=corpus, queries=judged, qrels=qrels, name=folder.name, source=str(folder),
                             modality=modality, bad_files=bad.entries, notes=notes)


# --- classification ----------------------------------------------------------------------------------------------------

def _labelled(table: Path, bad: BadFiles) -> tuple[list[Media], list[str], set[str]]:
    columns, rows = read_table(table)
    media_col = _media_column(columns)
    label_col = next((c for c in LABEL_COLUMNS if c in columns), None)
    if media_col is None or label_col is None:
        raise BadInput(f"wrong columns for image/audio classification: found [{', '.join(columns)}], need image "
                       "(or audio, path) and label", where=f"{table}:1")
    items, labels, kinds = [], [], set()
    for row in rows:
        where = f"{table}:{row.line}"
        ref, label = (row.values.get(media_col) or "").strip(), (row.values.get(label_col) or "").strip()
        if not ref or not label:
            raise BadInput(f"empty {media_col if not ref else label_col!r}: every row needs a file and a label",
                           where=where)
        file = table.parent / ref
        kind = media_kind(file) or (media_col.split("_")[0] if media_col.startswith(("image", "audio")) else None)
        if kind is None:
            raise BadInput(f"{ref!r} is not an image or audio file name", where=where)
        kinds.add(kind)
        try:
            items.append(open_file(file, kind))
            labels.append(label)
        except MediaError as exc:
            bad.add(file, str(exc))
    return items, labels, kinds


def load_classification(path: Path, seed: int) -> MediaClassificationSet:
    bad = BadFiles()
    if path.is_file():
        train, test = path, None
    else:
        train, test = _find(path, "train"), _find(path, "test")
        if train is None and test is None:
            tables = _classification_tables(path)
            if len(tables) != 1:
                raise BadInput("image/audio classification needs train and test tables, or one table (image,label)",
                               where=str(path))
            train = tables[0]
        if train is None:
            raise BadInput("a test table without a train table: add train.csv (image,label)", where=str(path))
    train_items, train_labels, kinds = _labelled(train, bad)
    notes: list[str] = []
    if test is None:
        split = _split_classification(train_items, train_labels, path.name, str(path), seed)
        train_items, train_labels = split.train_texts, split.train_labels
        test_items, test_labels = split.test_texts, split.test_labels
        notes += split.notes
    else:
        test_items, test_labels, test_kinds = _labelled(test, bad)
        kinds |= test_kinds
    if len(kinds) > 1:
        raise BadInput("the tables name both images and audio files: keep one kind per data set", where=str(path))
    modality = kinds.pop() if kinds else "image"
    if not train_items or not test_items:
        raise BadInput(f"no readable {modality} file left in the {'train' if not train_items else 'test'} set",
                       where=str(path))
    unknown = sorted(set(test_labels) - set(train_labels))
    if unknown:
        notes.append(f"{len(unknown)} test labels never occur in train (e.g. {unknown[0]!r})")
    return MediaClassificationSet(train_items, list(train_labels), test_items, list(test_labels), name=path.name,
                                  source=str(path), modality=modality, bad_files=bad.entries,
                                  notes=bad.note(modality) + notes)

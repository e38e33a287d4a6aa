"""Read the curated files into validated ModelRecords, or fail with file, line and field.

The curated folder holds one YAML file of records per kind, `reference/scores.csv` (every benchmark figure, one row
each, with its source: data rather than curation, and far faster to read as CSV) and
`reference/hardware_prices.yaml` (hourly prices of cloud instances, for pricing self-hosting).
"""
from __future__ import annotations

import csv
import hashlib
from importlib import resources
from pathlib import Path

import yaml
from pydantic import ValidationError

from embedwise.errors import CuratedDataError
from embedwise.kb.schema import HardwarePrice, ModelRecord, Score
from embedwise.yamlnodes import compose, construct, line_of, reject_duplicate_keys


def default_curated_dir() -> Path:
    return Path(str(resources.files("embedwise.kb") / "curated"))


def curated_files(directory: Path | None = None) -> list[Path]:
    directory = directory or default_curated_dir()
    if not directory.is_dir():
        raise CuratedDataError("not a folder of curated files", str(directory))
    # regular files only: a folder named x.yaml, a device file or a symlink loop is not curated data
    files = [p for p in sorted(directory.glob("*.yaml")) + sorted(directory.glob("*.yml")) if p.is_file()]
    if not files:
        raise CuratedDataError(f"no curated *.yaml files in {directory}")
    return files


def reference_files(directory: Path | None = None) -> list[Path]:
    folder = (directory or default_curated_dir()) / "reference"
    return [p for p in (folder / "scores.csv", folder / "hardware_prices.yaml") if p.is_file()]


def curated_fingerprint(directory: Path | None = None) -> str:
    """A hash of the curated files: the store rebuilds itself when they change (a new release, an edit)."""
    digest = hashlib.sha256()
    for path in curated_files(directory) + reference_files(directory):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def load_curated(directory: Path | None = None) -> list[ModelRecord]:
    records: list[ModelRecord] = []
    seen: dict[str, str] = {}
    for path in curated_files(directory):
        for record, where in _load_file(path):
            if record.id in seen:
                raise CuratedDataError(f"duplicate id {record.id!r} (first defined at {seen[record.id]})", where)
            seen[record.id] = where
            records.append(record)
    scores = _load_scores(directory)
    unknown = sorted(set(scores) - set(seen))
    if unknown:
        raise CuratedDataError(f"scores for models that are not curated: {', '.join(unknown[:5])}",
                               str(_scores_path(directory)))
    for record in records:
        if record.id in scores:
            record.scores = record.scores + scores[record.id]
    return records


def _scores_path(directory: Path | None) -> Path:
    return (directory or default_curated_dir()) / "reference" / "scores.csv"


def _load_scores(directory: Path | None) -> dict[str, list[Score]]:
    path = _scores_path(directory)
    if not path.is_file():
        return {}
    out: dict[str, list[Score]] = {}
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        for line, row in enumerate(reader, start=2):
            try:
                score = Score(benchmark=row["benchmark"], task_type=row["task_type"], task=row["task"],
                              metric=row["metric"], value=float(row["value"]), comparable=row["comparable"] == "1",
                              zero_shot_pct=float(row["zero_shot_pct"]) if row["zero_shot_pct"] else None,
                              self_reported=row["self_reported"] == "1", language=row["language"] or None,
                              source=row["source"])
            except (KeyError, TypeError, ValueError, ValidationError) as exc:
                raise CuratedDataError(f"bad score row: {exc}", f"{path}:{line}") from None
            out.setdefault(row["model_id"], []).append(score)
    return out


def load_hardware(directory: Path | None = None) -> list[HardwarePrice]:
    path = (directory or default_curated_dir()) / "reference" / "hardware_prices.yaml"
    if not path.is_file():
        return []
    root = compose(path.read_text(encoding="utf-8"), str(path), CuratedDataError)
    data = construct(root) if root is not None else {}
    out = []
    for i, row in enumerate((data or {}).get("hardware") or []):
        try:
            out.append(HardwarePrice.model_validate(row))
        except ValidationError as exc:
            raise CuratedDataError(f"hardware price {i + 1} ({row.get('id') if isinstance(row, dict) else '?'}): "
                                   f"{exc.errors()[0]['msg']}", str(path)) from None
    return out


def _load_file(path: Path) -> list[tuple[ModelRecord, str]]:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise CuratedDataError(f"not UTF-8 ({exc.reason} at byte {exc.start})", str(path)) from None
    except OSError as exc:
        raise CuratedDataError(f"cannot read: {exc.strerror or exc}", str(path)) from None
    root = compose(text, str(path), CuratedDataError)
    models_node = _models_node(root, path)
    out = []
    for item in models_node.value:
        where = f"{path}:{item.start_mark.line + 1}"
        if not isinstance(item, yaml.MappingNode):
            raise CuratedDataError("each entry under 'models' must be a mapping of fields", where)
        reject_duplicate_keys(item, str(path), CuratedDataError)
        data = construct(item)
        try:
            record = ModelRecord.model_validate(data)
        except ValidationError as exc:
            raise CuratedDataError(_describe(exc, item, path, data), where) from None
        out.append((record, where))
    return out


def _models_node(root: yaml.Node | None, path: Path) -> yaml.SequenceNode:
    if isinstance(root, yaml.MappingNode):
        for key, value in root.value:
            if key.value == "models":
                if isinstance(value, yaml.SequenceNode):
                    return value
                raise CuratedDataError("'models' must be a list", f"{path}:{value.start_mark.line + 1}")
    raise CuratedDataError("expected a top-level mapping with a 'models' list", str(path))


def _describe(exc: ValidationError, node: yaml.MappingNode, path: Path, data: object) -> str:
    model_id = data.get("id", "?") if isinstance(data, dict) else "?"
    lines = []
    for err in exc.errors():
        loc = tuple(err["loc"])
        field = ".".join(str(p) for p in loc) or "(record)"
        line = line_of(node, loc)
        message = err["msg"].removeprefix("Value error, ")
        lines.append(f"{path}:{line}: model {model_id!r}, field {field!r}: {message}")
    return "invalid curated record\n  " + "\n  ".join(lines)

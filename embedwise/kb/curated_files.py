"""Read the curated YAML files into validated ModelRecords, or fail with file, line and field."""
from __future__ import annotations

import hashlib
from importlib import resources
from pathlib import Path

import yaml
from pydantic import ValidationError

from embedwise.errors import CuratedDataError
from embedwise.kb.schema import ModelRecord
from embedwise.yamlnodes import compose, construct, line_of, reject_duplicate_keys


def default_curated_dir() -> Path:
    return Path(str(resources.files("embedwise.kb") / "curated"))


def curated_files(directory: Path | None = None) -> list[Path]:
    directory = directory or default_curated_dir()
    files = sorted(directory.glob("*.yaml")) + sorted(directory.glob("*.yml"))
    if not files:
        raise CuratedDataError(f"no curated *.yaml files in {directory}")
    return files


def curated_fingerprint(directory: Path | None = None) -> str:
    """A hash of the curated files: the store rebuilds itself when they change (a new release, an edit)."""
    digest = hashlib.sha256()
    for path in curated_files(directory):
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
    return records


def _load_file(path: Path) -> list[tuple[ModelRecord, str]]:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise CuratedDataError(f"not UTF-8 ({exc.reason} at byte {exc.start})", str(path)) from None
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

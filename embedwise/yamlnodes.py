"""YAML read as nodes, so every error can name the file and line: shared by curated data, rules and requirements."""
from __future__ import annotations

from typing import Any, Callable

import yaml

from embedwise.errors import BadInput

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def compose(text: str, where: str, error: Callable[..., BadInput] = BadInput) -> yaml.Node | None:
    """Parse `text` into a node tree; invalid YAML raises `error` naming where:line."""
    try:
        return yaml.compose(text, Loader=_Loader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise error(f"invalid YAML: {getattr(exc, 'problem', None) or exc}",
                    f"{where}:{mark.line + 1}" if mark else where) from None


def reject_duplicate_keys(node: yaml.Node, where: str, error: Callable[..., BadInput] = BadInput) -> None:
    """PyYAML keeps the last of two equal keys silently; we refuse them, at every depth."""
    if isinstance(node, yaml.MappingNode):
        seen = set()
        for key, value in node.value:
            if key.value in seen:
                raise error(f"field {key.value!r} is given twice", f"{where}:{key.start_mark.line + 1}")
            seen.add(key.value)
            reject_duplicate_keys(value, where, error)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            reject_duplicate_keys(item, where, error)


def construct(node: yaml.Node) -> Any:
    """The Python value of a node (safe types only)."""
    loader = yaml.SafeLoader("")
    try:
        return loader.construct_object(node, deep=True)
    finally:
        loader.dispose()


def line_of(node: yaml.Node | None, loc: tuple) -> int | None:
    """Follow a pydantic error location through the nodes to the deepest line we can name (1-based)."""
    if node is None:
        return None
    line = node.start_mark.line + 1
    current = node
    for part in loc:
        nxt = None
        if isinstance(current, yaml.MappingNode):
            for key, value in current.value:
                names = [n.strip() for n in str(key.value).split(",")]
                if key.value == part or (isinstance(part, str) and part in names):
                    nxt, line = value, key.start_mark.line + 1
                    break
        elif isinstance(current, yaml.SequenceNode) and isinstance(part, int) and part < len(current.value):
            nxt = current.value[part]
            line = nxt.start_mark.line + 1
        if nxt is None:
            break
        current = nxt
    return line

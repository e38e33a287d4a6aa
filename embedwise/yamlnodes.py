"""YAML read as nodes, so every error can name the file and line: shared by curated data, rules and requirements."""
from __future__ import annotations

from typing import Any, Callable

import yaml

from embedwise.errors import BadInput

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


# The tags a safe loader constructs; anything else (`!evil`, `!!python/object/apply`) is refused by name and line.
SAFE_TAGS = {f"tag:yaml.org,2002:{t}" for t in ("str", "int", "float", "bool", "null", "timestamp", "seq", "map",
                                                  "merge")}
MAX_NODES = 200_000  # nodes after alias expansion: a "billion laughs" alias bomb is refused, not expanded
MAX_BYTES = 20_000_000


def compose(text: str, where: str, error: Callable[..., BadInput] = BadInput,
            max_bytes: int = MAX_BYTES) -> yaml.Node | None:
    """Parse `text` into a node tree; invalid YAML, unsafe tags, alias bombs and oversized files raise `error`
    naming where:line."""
    if len(text) > max_bytes:
        raise error(f"file is {len(text):,} characters, over the limit of {max_bytes:,}", where)
    try:
        root = yaml.compose(text, Loader=_Loader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise error(f"invalid YAML: {getattr(exc, 'problem', None) or exc}",
                    f"{where}:{mark.line + 1}" if mark else where) from None
    if root is not None:
        _check_nodes(root, where, error)
    return root


def _check_nodes(root: yaml.Node, where: str, error: Callable[..., BadInput]) -> None:
    sizes: dict[int, int] = {}

    def size(node: yaml.Node) -> int:
        key = id(node)
        if key in sizes:
            return sizes[key]
        sizes[key] = 1  # a node that contains itself counts once
        if node.tag not in SAFE_TAGS:
            raise error(f"unsupported YAML tag {node.tag!r}: only plain values, lists and mappings are read",
                        f"{where}:{node.start_mark.line + 1}")
        total = 1
        if isinstance(node, yaml.MappingNode):
            total += sum(size(k) + size(v) for k, v in node.value)
        elif isinstance(node, yaml.SequenceNode):
            total += sum(size(item) for item in node.value)
        if total > MAX_NODES:
            raise error(f"the document expands to more than {MAX_NODES:,} values (YAML aliases): refused",
                        f"{where}:{node.start_mark.line + 1}")
        sizes[key] = total
        return total

    size(root)


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

"""Rule files: load, validate and parse the YAML rules in `engine/rules/` (or any folder).

A rule file is a mapping with a `rules` list. Each rule:

    - id: licence.non_commercial            # unique across all files: [a-z0-9_.-]
      step: research                        # task | data | research | evaluate | integrate | test
      description: Non-commercial licences cannot ship in a commercial product.
      if: {license.commercial_use: true}    # condition on the requirements (optional: always)
      match: {license_class: non_commercial} # condition on the model (optional: every model)
      exclude: "{model.license} does not allow commercial use"   # one outcome: exclude | score | advise | derive
      relax: "license.commercial_use: false"                      # optional: the requirement to relax

Conditions are mappings of field -> test (all must hold), or {all: [...]}, {any: [...]}. A test is a scalar
(eq; contains for a list field), a list (in; contains_any for a list field) or a mapping of operators: eq, ne, in, not_in, gt, ge, lt, le, contains,
not_contains, contains_all, not_contains_all, contains_any, not_contains_any, missing. In `match`, an operand
"$path" names a requirement ("$data.languages"). In `if`, `derived.NAME: true` requires a fact that a `derive`
rule produced (forward chaining). Positive tests are false on an unknown (null) value; negative ones (ne, not_*)
are true; `missing: true` holds for null and for an empty list. A test whose "$path" operand is null (or an
empty list) is false.

Score outcome: {term, weight, reason, value?, transform?: linear | log10, scale?: [lo, hi]}: a rule with a value
adds weight x clamp((value - lo) / (hi - lo), 0, 1) for models whose value is known; without one it adds weight.
Reasons and advice may name {model.FIELD}, {req.PATH}, {value} (a score's value) and, in advice with a match,
{models} (the best surviving candidates that match).
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from embedwise.engine.estimates import MODEL_FIELDS, REQ_FIELDS, fmt
from embedwise.errors import BadInput

STEPS = ("task", "data", "research", "evaluate", "integrate", "test")
OUTCOMES = ("exclude", "score", "advise", "derive")
RULE_KEYS = {"id", "step", "description", "if", "match", "relax", *OUTCOMES}
SCORE_KEYS = {"term", "weight", "reason", "value", "transform", "scale"}
SCALAR_OPS = {"eq", "ne"}
SET_OPS = {"in", "not_in"}
NUM_OPS = {"gt", "ge", "lt", "le"}
ITEM_OPS = {"contains", "not_contains"}
LIST_OPS = {"contains_all", "not_contains_all", "contains_any", "not_contains_any"}
ALL_OPS = SCALAR_OPS | SET_OPS | NUM_OPS | ITEM_OPS | LIST_OPS | {"missing"}
_ID = re.compile(r"^[a-z0-9][a-z0-9_.\-]*$")
_PLACEHOLDER = re.compile(r"\{([a-z_]+)(?:\.([\w.]+))?\}")


class RuleFileError(BadInput):
    """A rule file is malformed; nothing was compiled."""


@dataclass(frozen=True)
class Ref:
    path: str  # a requirements path


@dataclass(frozen=True)
class Test:
    field: str
    op: str
    operand: Any  # literal, tuple of literals, or Ref

    def __str__(self) -> str:
        return f"{self.field} {self.op} {self.operand.path if isinstance(self.operand, Ref) else self.operand}"


@dataclass(frozen=True)
class Group:
    kind: str  # "all" | "any"
    items: tuple  # of Test | Group


Cond = Test | Group


@dataclass(frozen=True)
class ScoreSpec:
    term: str
    weight: float
    reason: str
    value: str | None = None
    transform: str = "linear"
    scale: tuple | None = None  # (lo, hi), each a number or a Ref


@dataclass
class Rule:
    id: str
    step: str
    description: str
    outcome: str  # exclude | score | advise | derive
    text: str  # exclude reason, advice text, score reason, or the derived name
    when: Cond | None = None  # requirements condition, without the derived.* tests
    needs: tuple[str, ...] = ()  # derived facts required
    match: Cond | None = None
    score: ScoreSpec | None = None
    relax: str | None = None
    where: str = ""


@dataclass
class RuleSet:
    rules: list[Rule]
    fingerprint: str
    files: list[str] = field(default_factory=list)

    def by_id(self) -> dict[str, Rule]:
        return {r.id: r for r in self.rules}


def default_rules_dir() -> Path:
    return Path(str(resources.files("embedwise.engine") / "rules"))


_CACHE: dict[str, RuleSet] = {}


def load_rules(directory: str | Path | None = None) -> RuleSet:
    """Every *.yaml file in the folder, validated. Raises RuleFileError with file:line, rule id and field."""
    directory = Path(directory) if directory else default_rules_dir()
    files = sorted(directory.glob("*.yaml")) + sorted(directory.glob("*.yml"))
    if not files:
        raise RuleFileError(f"no rule files (*.yaml) in {directory}")
    digest = hashlib.sha256()
    texts = []
    for path in files:
        data = path.read_bytes()
        digest.update(path.name.encode() + b"\0" + data)
        texts.append((path, data))
    key = f"{directory}:{digest.hexdigest()}"
    if key in _CACHE:
        return _CACHE[key]
    rules: list[Rule] = []
    seen: dict[str, str] = {}
    for path, data in texts:
        for rule in parse_rule_text(data.decode("utf-8", errors="replace"), str(path)):
            if rule.id in seen:
                raise RuleFileError(f"rule id {rule.id!r} is used twice (first at {seen[rule.id]})", rule.where)
            seen[rule.id] = rule.where
            rules.append(rule)
    _check_derived(rules)
    ruleset = RuleSet(rules, digest.hexdigest()[:16], [str(p) for p, _ in texts])
    _CACHE[key] = ruleset
    return ruleset


def _check_derived(rules: list[Rule]) -> None:
    produced = {r.text for r in rules if r.outcome == "derive"}
    for r in rules:
        for name in r.needs:
            if name not in produced:
                raise RuleFileError(f"rule {r.id!r}: derived.{name} is produced by no rule (a 'derive: {name}' rule)",
                                    r.where)


def parse_rule_text(text: str, where: str = "<rules>") -> list[Rule]:
    import yaml

    from embedwise.yamlnodes import compose, construct

    root = compose(text, where, RuleFileError)
    if not isinstance(root, yaml.MappingNode):
        raise RuleFileError("expected a mapping with a 'rules' list", where)
    rules_node = None
    for key, value in root.value:
        if key.value == "rules":
            rules_node = value
        else:
            raise RuleFileError(f"unknown top-level key {key.value!r} (only 'rules')", f"{where}:{key.start_mark.line + 1}")
    if not isinstance(rules_node, yaml.SequenceNode):
        raise RuleFileError("'rules' must be a list of rules", where)
    out = []
    for node in rules_node.value:
        at = f"{where}:{node.start_mark.line + 1}"
        if not isinstance(node, yaml.MappingNode):
            raise RuleFileError("each rule must be a mapping", at)
        keys = [k.value for k, _ in node.value]
        dup = {k for k in keys if keys.count(k) > 1}
        if dup:
            raise RuleFileError(f"key {sorted(dup)[0]!r} is given twice", at)
        data = construct(node)
        lines = {k.value: f"{where}:{k.start_mark.line + 1}" for k, _ in node.value}
        out.append(_parse_rule(data, at, lines))
    return out


def _parse_rule(data: dict, at: str, lines: dict[str, str]) -> Rule:
    rid = data.get("id")
    if not isinstance(rid, str) or not _ID.match(rid):
        raise RuleFileError(f"rule needs an 'id' of lower-case letters, digits, '.', '_' or '-' (got {rid!r})", at)

    def fail(msg: str, key: str | None = None) -> RuleFileError:
        return RuleFileError(f"rule {rid!r}: {msg}", lines.get(key, at) if key else at)

    unknown = set(data) - RULE_KEYS
    if unknown:
        k = sorted(unknown)[0]
        raise fail(f"unknown key {k!r} (allowed: {', '.join(sorted(RULE_KEYS))})", k)
    if data.get("step") not in STEPS:
        raise fail(f"'step' must be one of {', '.join(STEPS)} (got {data.get('step')!r})", "step")
    if not isinstance(data.get("description"), str) or not data["description"].strip():
        raise fail("needs a 'description' that says what the rule is for", "description")
    outcomes = [o for o in OUTCOMES if o in data]
    if len(outcomes) != 1:
        raise fail(f"needs exactly one outcome of {', '.join(OUTCOMES)} (found {', '.join(outcomes) or 'none'})")
    outcome = outcomes[0]
    when, needs = (None, ())
    if "if" in data:
        try:
            when, needs = _parse_if(data["if"])
        except ValueError as exc:
            raise fail(f"if: {exc}", "if") from None
    match = None
    if "match" in data:
        if outcome == "derive":
            raise fail("a derive rule reasons over the requirements only: remove 'match'", "match")
        try:
            match = parse_condition(data["match"], MODEL_FIELDS, refs=True)
        except ValueError as exc:
            raise fail(f"match: {exc}", "match") from None
    score = None
    value = data[outcome]
    if outcome == "score":
        try:
            score = _parse_score(value)
        except ValueError as exc:
            raise fail(f"score: {exc}", "score") from None
        text = score.reason
    else:
        if not isinstance(value, str) or not value.strip():
            raise fail(f"'{outcome}' must be a non-empty text", outcome)
        text = value.strip()
        if outcome == "derive" and not re.fullmatch(r"[a-z][a-z0-9_]*", text):
            raise fail("'derive' names a fact: lower-case letters, digits and '_'", "derive")
    try:
        _check_placeholders(text, outcome, match is not None)
    except ValueError as exc:
        raise fail(str(exc), outcome) from None
    relax = data.get("relax")
    if relax is not None and (outcome != "exclude" or not isinstance(relax, str)):
        raise fail("'relax' (a text naming the requirement to change) belongs to exclude rules", "relax")
    return Rule(id=rid, step=data["step"], description=data["description"].strip(), outcome=outcome, text=text,
                when=when, needs=needs, match=match, score=score, relax=relax, where=at)


def _check_placeholders(text: str, outcome: str, has_match: bool) -> None:
    for m in _PLACEHOLDER.finditer(text):
        ns, path = m.group(1), m.group(2)
        if ns == "model" and path in MODEL_FIELDS and outcome in ("exclude", "score"):
            continue
        if ns == "req" and path in REQ_FIELDS:
            continue
        if ns == "value" and path is None and outcome == "score":
            continue
        if ns == "models" and path is None and outcome == "advise" and has_match:
            continue
        raise ValueError(f"unknown placeholder {m.group(0)} in the text (use {{model.FIELD}}, {{req.PATH}}, "
                         "{value} in a score, {models} in advice with a match)")


def _parse_if(raw: Any) -> tuple[Cond | None, tuple[str, ...]]:
    if not isinstance(raw, dict):
        raise ValueError("a condition is a mapping of field: test")
    needs = []
    rest = {}
    for key, test in raw.items():
        if isinstance(key, str) and key.startswith("derived."):
            if test is not True:
                raise ValueError(f"{key}: only 'true' can be tested (a derived fact is present or not)")
            needs.append(key.removeprefix("derived."))
        else:
            rest[key] = test
    when = parse_condition(rest, REQ_FIELDS, refs=False) if rest else None
    return when, tuple(needs)


def parse_condition(raw: Any, fields: dict[str, str], refs: bool) -> Cond:
    if not isinstance(raw, dict) or not raw:
        raise ValueError("a condition is a non-empty mapping of field: test (or all: / any: lists)")
    items: list[Cond] = []
    for key, test in raw.items():
        if key in ("all", "any"):
            if not isinstance(test, list) or not test:
                raise ValueError(f"'{key}' takes a non-empty list of conditions")
            items.append(Group(key, tuple(parse_condition(t, fields, refs) for t in test)))
            continue
        if not isinstance(key, str) or key not in fields:
            if isinstance(key, str) and key.startswith("derived."):
                raise ValueError(f"{key} may appear only at the top level of 'if'")
            import difflib

            close = difflib.get_close_matches(str(key), list(fields), n=3, cutoff=0.6) or [
                f for f in fields if isinstance(key, str) and f.endswith("." + key)][:3]
            hint = f" (did you mean {', '.join(close)}?)" if close else ""
            raise ValueError(f"unknown field {key!r}{hint}")
        kind = fields[key]
        if isinstance(test, dict):
            if not test:
                raise ValueError(f"{key}: empty test")
            for op, operand in test.items():
                items.append(_test(key, kind, op, operand, fields, refs))
        elif isinstance(test, list):
            items.append(_test(key, kind, "contains_any" if kind == "list" else "in", test, fields, refs))
        else:
            items.append(_test(key, kind, "contains" if kind == "list" else "eq", test, fields, refs))
    return items[0] if len(items) == 1 else Group("all", tuple(items))


def _operand(value: Any, refs: bool, key: str) -> Any:
    if isinstance(value, str) and value.startswith("$"):
        path = value[1:]
        if not refs:
            raise ValueError(f"{key}: requirement references ({value}) are allowed only in 'match'")
        if path not in REQ_FIELDS:
            raise ValueError(f"{key}: {value} names no requirement field")
        return Ref(path)
    return value


def _test(key: str, kind: str, op: str, operand: Any, fields: dict[str, str], refs: bool) -> Test:
    if op not in ALL_OPS:
        raise ValueError(f"{key}: unknown operator {op!r} (use {', '.join(sorted(ALL_OPS))})")
    operand = _operand(operand, refs, key)
    ref_kind = REQ_FIELDS.get(operand.path) if isinstance(operand, Ref) else None
    scalar_types = (str, int, float, bool)

    def want_scalar() -> None:
        if ref_kind is not None:
            if ref_kind == "list":
                raise ValueError(f"{key} {op}: ${operand.path} is a list, a single value is needed")
        elif not isinstance(operand, scalar_types):
            raise ValueError(f"{key} {op}: needs a single value, got {operand!r}")

    def want_list() -> Any:
        if ref_kind is not None:
            if ref_kind != "list":
                raise ValueError(f"{key} {op}: ${operand.path} is not a list")
            return operand
        if not isinstance(operand, list) or not all(isinstance(x, scalar_types) for x in operand):
            raise ValueError(f"{key} {op}: needs a list of values, got {operand!r}")
        return tuple(operand)

    if op == "missing":
        if not isinstance(operand, bool):
            raise ValueError(f"{key} missing: takes true or false")
    elif op in SCALAR_OPS:
        if kind == "list":
            raise ValueError(f"{key} is a list: use contains / contains_any / contains_all")
        want_scalar()
    elif op in SET_OPS:
        if kind == "list":
            raise ValueError(f"{key} is a list: use contains_any / not_contains_any")
        operand = want_list()
    elif op in NUM_OPS:
        if kind != "num":
            raise ValueError(f"{key} is not a number: {op} does not apply")
        if ref_kind is not None:
            if ref_kind != "num":
                raise ValueError(f"{key} {op}: ${operand.path} is not a number")
        elif isinstance(operand, bool) or not isinstance(operand, (int, float)):
            raise ValueError(f"{key} {op}: needs a number, got {operand!r}")
    elif op in ITEM_OPS:
        if kind != "list":
            raise ValueError(f"{key} is not a list: {op} does not apply")
        want_scalar()
    elif op in LIST_OPS:
        if kind != "list":
            raise ValueError(f"{key} is not a list: {op} does not apply")
        operand = want_list()
    if kind == "bool" and op in SCALAR_OPS and not isinstance(operand, (bool, Ref)):
        raise ValueError(f"{key} is true or false, got {operand!r}")
    return Test(key, op, operand)


def _parse_score(raw: Any) -> ScoreSpec:
    if not isinstance(raw, dict):
        raise ValueError("a mapping with term, weight, reason (and optionally value, transform, scale)")
    unknown = set(raw) - SCORE_KEYS
    if unknown:
        raise ValueError(f"unknown key {sorted(unknown)[0]!r} (allowed: {', '.join(sorted(SCORE_KEYS))})")
    term, weight, reason = raw.get("term"), raw.get("weight"), raw.get("reason")
    if not isinstance(term, str) or not term:
        raise ValueError("needs a 'term' (benchmark, domain, cost, hardware, popularity, ...)")
    if isinstance(weight, bool) or not isinstance(weight, (int, float)):
        raise ValueError(f"'weight' must be a number, got {weight!r}")
    if not isinstance(reason, str) or not reason.strip():
        raise ValueError("needs a 'reason'")
    value = raw.get("value")
    if value is not None and MODEL_FIELDS.get(value) != "num":
        raise ValueError(f"'value' must name a numeric model field, got {value!r}")
    transform = raw.get("transform", "linear")
    if transform not in ("linear", "log10"):
        raise ValueError("'transform' is linear or log10")
    scale = raw.get("scale")
    if scale is not None:
        if value is None:
            raise ValueError("'scale' needs a 'value'")
        if not isinstance(scale, list) or len(scale) != 2:
            raise ValueError("'scale' is [low, high]")
        parsed = []
        for s in scale:
            s = _operand(s, True, "scale")
            if isinstance(s, Ref):
                if REQ_FIELDS[s.path] != "num":
                    raise ValueError(f"scale: ${s.path} is not a number")
            elif isinstance(s, bool) or not isinstance(s, (int, float)):
                raise ValueError(f"scale bounds must be numbers, got {s!r}")
            parsed.append(s)
        if not any(isinstance(s, Ref) for s in parsed) and parsed[0] == parsed[1]:
            raise ValueError("scale bounds must differ")
        scale = tuple(parsed)
    elif value is not None:
        raise ValueError("a score with a 'value' needs a 'scale: [low, high]'")
    return ScoreSpec(term=term, weight=float(weight), reason=reason.strip(), value=value, transform=transform,
                     scale=scale)


_TEMPLATES: dict[str, list] = {}


def _template(text: str) -> list:
    parts = _TEMPLATES.get(text)
    if parts is None:
        parts, pos = [], 0
        for m in _PLACEHOLDER.finditer(text):
            parts.append(text[pos:m.start()])
            parts.append((m.group(1), m.group(2)))
            pos = m.end()
        parts.append(text[pos:])
        _TEMPLATES[text] = parts
    return parts


def render_text(text: str, model: dict | None, req: dict, value: Any = None, models: list[str] | None = None) -> str:
    """Fill the placeholders of a reason or advice text."""
    parts = _template(text)
    if len(parts) == 1:
        return text
    out = []
    for part in parts:
        if isinstance(part, str):
            out.append(part)
            continue
        ns, path = part
        if ns == "model" and model is not None:
            v = model.get(path)
            out.append(v if isinstance(v, str) else fmt(v))
        elif ns == "req":
            out.append(fmt(req.get(path)))
        elif ns == "value":
            out.append(fmt(value))
        elif ns == "models":
            out.append(", ".join(models or []) or "none")
        else:
            out.append("{" + ns + ("." + path if path else "") + "}")
    return "".join(out)

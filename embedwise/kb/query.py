"""The `kb query` filter language, compiled to parameterised SQL.

    expression := term*
    term       := FIELD OP VALUE        modality=text  params<1B  dims<=1024  lang=zho  domain=legal,medical
                | FLAG | !FLAG          commercial_use  !trust_remote_code  (FLAG=false works too)
                | score.BENCH[.TYPE] OP NUMBER
                                        score.LongEmbed>50  score."MTEB(Code, v1)">60  score.MTEB(jpn,v1).retrieval>70
                | sort=[-]FIELD         sort=-mteb.retrieval
                | limit=N
                | WORD | "some words"   free text, matched against names, descriptions and tags
    OP         := = | != | < | <= | > | >= | ~        (~ : substring match)

A score term matches complete (comparable) figures only: the benchmark mean, or the mean of one task type; the
benchmark is written as mteb writes it, quoted inside the expression or with its spaces left out.
Languages match macrolanguages both ways (lang=ara finds models that list arb, and lang=arb those that list ara).
Numbers take K, M, B and T suffixes (params<1.5B), sizes MB and GB (memory<2GB). A comma in a value means "any of".
Field names and operators come from a fixed table; values are always bound as SQL parameters.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

import sqlite_utils

from embedwise.errors import QueryError
from embedwise.kb.languages import equivalents

# field name in the language -> (SQL expression, kind)
FIELDS: dict[str, tuple[str, str]] = {
    "id": ("models.id", "text"),
    "name": ("models.name", "text"),
    "provider": ("models.provider", "text"),
    "family": ("models.family", "text"),
    "modality": ("models.modality", "enum"),
    "output": ("models.output", "enum"),
    "hosting": ("models.hosting", "enum"),
    "license": ("models.license", "text"),
    "similarity": ("models.similarity", "enum"),
    "status": ("models.status", "enum"),
    "lifecycle": ("models.lifecycle", "enum"),
    "languages_basis": ("models.languages_basis", "enum"),
    "trained_for": ("trained_for", "json_list"),
    "base_model": ("models.base_model", "text"),
    "active_params": ("models.active_parameters", "number"),
    "batch_price": ("models.batch_price_per_million_tokens", "number"),
    "free_tokens": ("models.free_tokens", "number"),
    "lang": ("language", "language"),
    "domain": ("domain", "domain"),
    "input": ("input_modalities", "json_list"),
    "tag": ("tags", "json_list"),
    "params": ("models.parameters", "number"),
    "dims": ("models.default_dimension", "dims"),
    "max_tokens": ("models.max_tokens", "number"),
    "memory": ("models.memory_mb", "memory"),
    "price": ("models.price_per_million_tokens", "number"),
    "downloads": ("models.downloads", "number"),
    "likes": ("models.likes", "number"),
    "released": ("models.release_date", "date"),
    "mteb": ("models.mteb_mean", "number"),
    "mteb.mean": ("models.mteb_mean", "number"),
    "mteb.retrieval": ("models.mteb_retrieval", "number"),
    "mteb.classification": ("models.mteb_classification", "number"),
    "mteb.clustering": ("models.mteb_clustering", "number"),
    "mteb.sts": ("models.mteb_sts", "number"),
    "mteb.reranking": ("models.mteb_reranking", "number"),
    "mteb.pair_classification": ("models.mteb_pair_classification", "number"),
    "mteb.summarization": ("models.mteb_summarization", "number"),
    "mteb.multilingual": ("models.mteb_multilingual_mean", "number"),
}
ALIASES = {"language": "lang", "languages": "lang", "domains": "domain", "parameters": "params",
           "dimensions": "dims", "dim": "dims", "tokens": "max_tokens", "context": "max_tokens",
           "memory_mb": "memory", "price_per_million_tokens": "price", "release_date": "released",
           "licence": "license", "tags": "tag", "input_modalities": "input", "mteb_mean": "mteb.mean"}
FLAGS = {"commercial_use", "permissive", "open_weights", "multilingual", "trust_remote_code", "safetensors"}
OPERATORS = ("<=", ">=", "!=", "=", "<", ">", "~")
NUMBER_SUFFIXES = {"k": 1e3, "m": 1e6, "b": 1e9, "t": 1e12}
MEMORY_SUFFIXES = {"mb": 1.0, "gb": 1024.0, "kb": 1 / 1024, "tb": 1024.0 * 1024}
DEFAULT_ORDER = "models.mteb_mean IS NULL, models.mteb_mean DESC, models.downloads IS NULL, models.downloads DESC, models.id"

_TOKEN = re.compile(r"""\s*((?:[^\s"']|"[^"]*"|'[^']*')+)""")
_SCORE = re.compile(r"""^score\.("[^"]+"|'[^']+'|[^.<>=!~"']+?(?:\([^)]*\))?)(?:\.([A-Za-z0-9_()]+))?(<=|>=|!=|=|<|>)(.+)$""")
_TERM = re.compile(r"^(!?)([A-Za-z_][\w.]*)(?:(<=|>=|!=|=|<|>|~)(.*))?$", re.S)


@dataclass
class CompiledQuery:
    sql: str
    params: list = field(default_factory=list)
    text: str = ""


def tokenize(expression: str) -> list[tuple[str, int]]:
    tokens = []
    pos = 0
    while pos < len(expression):
        match = _TOKEN.match(expression, pos)
        if not match or not match.group(1):
            if expression[pos:].strip():
                raise QueryError("unbalanced quote", expression, pos)
            break
        tokens.append((match.group(1), match.start(1)))
        pos = match.end()
    for token, start in tokens:
        if token.count('"') % 2 or token.count("'") % 2:
            raise QueryError("unbalanced quote", expression, start)
    return tokens


MAX_TERMS = 200
MAX_INTEGER = 2**63 - 1


def compile_query(expression: str) -> CompiledQuery:
    tokens = tokenize(expression)
    if len(tokens) > MAX_TERMS:
        raise QueryError(f"{len(tokens)} terms: a query takes at most {MAX_TERMS}", expression,
                         tokens[MAX_TERMS][1])
    where: list[str] = []
    params: list = []
    words: list[str] = []
    order: str | None = None
    limit: int | None = None
    for token, start in tokens:
        if token[0] in "\"'":
            words.append(token[1:-1])
            continue
        if token.lower().startswith("score."):
            clause, values = _compile_score(token, expression, start)
            where.append(clause)
            params.extend(values)
            continue
        term = _TERM.match(token)
        if not term or (term.group(3) is None and not term.group(1) and term.group(2).lower() not in FLAGS
                         and term.group(2).lower() not in ALIASES and term.group(2).lower() not in FIELDS):
            if any(op in token for op in OPERATORS) or token.startswith("!"):
                raise QueryError(f"cannot read {token!r}: expected FIELD OP VALUE, a flag, or a word", expression, start)
            words.append(token)
            continue
        negate, key, op, raw = term.group(1), term.group(2).lower(), term.group(3), term.group(4)
        key = ALIASES.get(key, key)
        if key == "sort":
            order = _compile_sort(raw or "", expression, start + len("sort="))
            continue
        if key == "limit":
            if not raw or not raw.isdigit() or op != "=":
                raise QueryError("limit takes a whole number: limit=10", expression, start)
            limit = int(raw)
            continue
        if key in FLAGS:
            value = True
            if op is not None:
                if op not in ("=", "!=") or raw.lower() not in ("true", "false", "yes", "no", "1", "0"):
                    raise QueryError(f"{key} is a flag: write {key}, !{key} or {key}=false", expression, start)
                value = raw.lower() in ("true", "yes", "1")
                if op == "!=":
                    value = not value
            if negate:
                value = not value
            where.append(f"coalesce(models.{key}, 0) = ?")
            params.append(int(value))
            continue
        if key not in FIELDS:
            raise QueryError(f"unknown field {key!r}; known: {', '.join(sorted(set(FIELDS) | FLAGS))}", expression, start)
        if negate:
            raise QueryError("'!' applies to flags only; use != for fields", expression, start)
        if op is None or raw == "":
            raise QueryError(f"{key} needs an operator and a value, e.g. {key}=...", expression, start)
        value_pos = start + len(term.group(2)) + len(op)
        clause, values = _compile_condition(key, op, _unquote(raw), expression, value_pos)
        where.append(clause)
        params.extend(values)
    text = " ".join(words)
    sql = "SELECT models.* FROM models"
    if text:
        sql += " JOIN models_fts ON models_fts.rowid = models.rowid"
        where.insert(0, "models_fts MATCH ?")
        params.insert(0, _fts_expression(words))
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += " ORDER BY " + (order or ("models_fts.rank, " + DEFAULT_ORDER if text else DEFAULT_ORDER))
    if limit is not None:
        sql += " LIMIT ?"
        params.append(limit)
    return CompiledQuery(sql, params, text)


def _compile_score(token: str, expression: str, start: int) -> tuple[str, list]:
    match = _SCORE.match(token)
    if not match:
        raise QueryError("a score term reads score.BENCHMARK[.TASK_TYPE] OP NUMBER, e.g. score.LongEmbed>50 or "
                         "score.\"MTEB(Code, v1)\".retrieval>=60", expression, start)
    bench, task_type, op, raw = match.groups()
    bench = _unquote(bench)
    number = _number(raw, NUMBER_SUFFIXES, expression, start + match.start(4))
    params: list = [re.sub(r"\s+", "", bench.lower())]
    if task_type is None or task_type.lower() == "mean":
        figure = "s.task_type = 'Mean' AND s.task IN ('Mean (Task)', 'Mean (Public)')"
    else:
        figure = "lower(s.task_type) = ? AND s.task = 'mean'"
        params.append(task_type.lower())
    params.append(number)
    return (f"models.id IN (SELECT s.model_id FROM scores s WHERE replace(lower(s.benchmark), ' ', '') = ? "
            f"AND {figure} AND s.comparable = 1 AND s.language IS NULL AND s.value {op.replace('!=', '<>')} ?)",
            params)


def _like(value: str) -> str:
    """A LIKE pattern that matches `value` literally: % and _ are not wildcards in user text."""
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _unquote(raw: str) -> str:
    if len(raw) >= 2 and raw[0] == raw[-1] and raw[0] in "\"'":
        return raw[1:-1]
    return raw


def _fts_expression(words: list[str]) -> str:
    # Every word becomes a quoted FTS phrase: FTS operators in user text are matched as plain words.
    return " ".join('"' + w.replace('"', '""') + '"' for w in words if w.strip())


def _compile_sort(raw: str, expression: str, pos: int) -> str:
    descending = raw.startswith("-")
    key = ALIASES.get(raw.lstrip("-+").lower(), raw.lstrip("-+").lower())
    if key not in FIELDS or FIELDS[key][1] not in ("text", "enum", "number", "dims", "memory", "date"):
        raise QueryError(f"cannot sort by {raw.lstrip('-+')!r}", expression, pos)
    column = FIELDS[key][0]
    return f"{column} IS NULL, {column} {'DESC' if descending else 'ASC'}, models.id"


def _compile_condition(key: str, op: str, raw: str, expression: str, pos: int) -> tuple[str, list]:
    column, kind = FIELDS[key]
    values = [v.strip() for v in raw.split(",")] if "," in raw else [raw]
    if kind == "enum":
        if op not in ("=", "!="):
            raise QueryError(f"{key} compares with = or != only", expression, pos)
        marks = ",".join("?" * len(values))
        return f"{column} {'NOT IN' if op == '!=' else 'IN'} ({marks})", [v.lower() for v in values]
    if kind in ("text", "language", "domain", "json_list"):
        if op not in ("=", "!=", "~"):
            raise QueryError(f"{key} compares with =, != or ~ only", expression, pos)
        if kind == "language":
            try:
                values = sorted({e for v in values for e in equivalents(v)}) if op != "~" else values
            except ValueError as exc:
                raise QueryError(str(exc), expression, pos) from None
        if kind in ("language", "domain"):
            table = "model_languages" if kind == "language" else "model_domains"
            marks = ",".join("?" * len(values))
            if op == "~":
                inner = " OR ".join(f"{column} LIKE ? ESCAPE '\\'" for _ in values)
                values = [f"%{_like(v)}%" for v in values]
            else:
                inner = f"{column} IN ({marks})"
            # IN (subquery) lets SQLite walk the (value, model_id) index instead of probing every model.
            member = f"models.id IN (SELECT model_id FROM {table} WHERE {inner})"
            return (f"NOT ({member})" if op == "!=" else member), values
        if kind == "json_list":
            inner = " OR ".join("j.value = ?" for _ in values) if op != "~" else " OR ".join(
                "j.value LIKE ? ESCAPE '\\'" for _ in values)
            vals = values if op != "~" else [f"%{_like(v)}%" for v in values]
            exists = f"EXISTS (SELECT 1 FROM json_each(models.{column}) j WHERE {inner})"
            return (f"NOT {exists}" if op == "!=" else exists), vals
        if op == "~":
            return ("(" + " OR ".join(f"{column} LIKE ? ESCAPE '\\'" for _ in values) + ")",
                    [f"%{_like(v)}%" for v in values])
        marks = ",".join("?" * len(values))
        ci = " COLLATE NOCASE"
        return (f"{column}{ci} {'NOT IN' if op == '!=' else 'IN'} ({marks})"), values
    if len(values) > 1:
        raise QueryError(f"{key} takes one value", expression, pos)
    if op == "~":
        raise QueryError(f"{key} is a number: use =, !=, <, <=, > or >=", expression, pos)
    if kind == "date":
        try:
            value = dt.date.fromisoformat(raw if len(raw) > 7 else (raw + "-01-01" if len(raw) == 4 else raw + "-01")).isoformat()
        except ValueError:
            raise QueryError(f"{raw!r} is not a date (YYYY, YYYY-MM or YYYY-MM-DD)", expression, pos) from None
        return f"{column} {op.replace('!=', '<>')} ?", [value]
    number = _number(raw, MEMORY_SUFFIXES if kind == "memory" else NUMBER_SUFFIXES, expression, pos)
    if kind == "dims" and op in ("<", "<="):
        column = "models.min_dimension"  # Matryoshka: a model that can truncate to <= N qualifies
    return f"{column} {op.replace('!=', '<>')} ?", [number]


def _number(raw: str, suffixes: dict[str, float], expression: str, pos: int) -> float:
    match = re.fullmatch(r"(\d+(?:\.\d+)?)([a-zA-Z]*)", raw.replace("_", ""))
    if not match or (match.group(2) and match.group(2).lower() not in suffixes):
        allowed = ", ".join(s.upper() for s in suffixes)
        raise QueryError(f"{raw!r} is not a number (suffixes: {allowed})", expression, pos)
    value = float(match.group(1)) * (suffixes[match.group(2).lower()] if match.group(2) else 1)
    if value > MAX_INTEGER:
        raise QueryError(f"{raw!r} is too large (at most {MAX_INTEGER})", expression, pos)
    return int(value) if value.is_integer() else value


def explain_empty(db: sqlite_utils.Database, expression: str) -> str | None:
    """For a query that returns nothing: the term that removed the last candidates (terms applied left to right)."""
    kept: list[str] = []
    for token, _ in tokenize(expression):
        if token.split("=", 1)[0].lower() in ("sort", "limit"):
            continue
        kept.append(token)
        if not search(db, " ".join(kept + ["limit=1"])):  # the terms before this one still matched something
            prior = " ".join(kept[:-1])
            n = len(search(db, prior)) if prior else db.execute("SELECT count(*) FROM models").fetchone()[0]
            return f"{token!r} removed the last candidates ({n} matched {prior or '(no filter)'!r})"
    return None


def search(db: sqlite_utils.Database, expression: str) -> list[dict]:
    """Run a query expression; rows of the models table, lists decoded."""
    import json

    from embedwise.kb.store import LIST_COLUMNS

    compiled = compile_query(expression)
    rows = []
    for row in db.query(compiled.sql, compiled.params):
        for col in LIST_COLUMNS:
            row[col] = json.loads(row[col]) if row.get(col) else []
        rows.append(row)
    return rows

"""The kb query language: filters, sorting, free text, errors that point at the token, no SQL injection."""
from __future__ import annotations

import pytest

from embedwise.errors import QueryError
from embedwise.kb import store
from embedwise.kb.query import compile_query, search


@pytest.fixture
def db(tmp_path, curated_dir):
    store.build(tmp_path / "kb.sqlite", curated_dir)
    return store.open_db(tmp_path / "kb.sqlite")


def ids(db, expression):
    return [r["id"] for r in search(db, expression)]


@pytest.mark.parametrize("expression, expected", [
    ("", ["acme/big-multi", "acme/tiny-en", "acme/embed-api"]),
    ("modality=text commercial_use", ["acme/tiny-en", "acme/embed-api"]),
    ("!commercial_use", ["acme/big-multi"]),
    ("commercial_use=false", ["acme/big-multi"]),
    ("lang=zh", ["acme/big-multi"]),
    ("lang=zho", ["acme/big-multi"]),
    ("lang=fr,de", ["acme/big-multi", "acme/embed-api"]),
    ("params<1B", ["acme/tiny-en"]),
    ("params>=7B", ["acme/big-multi"]),
    ("dims<=256", ["acme/tiny-en", "acme/embed-api"]),  # Matryoshka truncation counts
    ("dims>2000", ["acme/big-multi"]),
    ("domain=legal", ["acme/big-multi"]),
    ("hosting=api price<0.5", ["acme/embed-api"]),
    ("license=apache-2.0", ["acme/tiny-en"]),
    ("license!=proprietary sort=params", ["acme/tiny-en", "acme/big-multi"]),
    ("sort=-mteb.retrieval limit=1", ["acme/big-multi"]),
    ("sort=mteb.retrieval", ["acme/tiny-en", "acme/big-multi", "acme/embed-api"]),
    ("trust_remote_code", ["acme/big-multi"]),
    ("legal", ["acme/big-multi"]),
    ('"small" modality=text', ["acme/tiny-en"]),
    ("tag=matryoshka", ["acme/tiny-en"]),
    ("name~multi", ["acme/big-multi"]),
    ("max_tokens>=8K", ["acme/big-multi", "acme/embed-api"]),
    ("memory<30GB", ["acme/big-multi"]),
])
def test_filters(db, expression, expected):
    assert ids(db, expression) == expected


def test_issue_example_compiles_to_parameterised_sql():
    q = compile_query("modality=text commercial_use lang=zho params<1B dims<=1024 domain=legal sort=-mteb.retrieval limit=10")
    assert "?" in q.sql and "zho" not in q.sql and "legal" not in q.sql
    assert q.params[:2] == ["text", 1] and q.params[-4:] == [1_000_000_000, 1024, "legal", 10]
    assert {"zho", "cmn", "yue"} <= set(q.params)  # a macrolanguage matches its members


@pytest.mark.parametrize("expression, position, fragment", [
    ("name='x' OR 1=1", 12, "1=1"),
    ("params<lots", 7, "not a number"),
    ("colour=blue", 0, "unknown field"),
    ("lang=xx", 5, "unknown language"),
    ("sort=-colour", 5, "cannot sort"),
    ("limit=ten", 0, "limit"),
    ('name="unclosed', 5, "unbalanced quote"),
    ("modality>text", 9, "compares with"),
    ("!modality=text", 0, "flags only"),
])
def test_malformed_expressions_point_at_the_token(expression, position, fragment):
    with pytest.raises(QueryError) as err:
        compile_query(expression)
    assert fragment in str(err.value)
    assert err.value.position == position
    assert str(err.value).splitlines()[-1].index("^") - 2 == position


@pytest.mark.parametrize("attack", [
    "name='x'; DROP TABLE models; --",
    "provider=acme' OR '1'='1",
    '"x" OR 1 --',
    "id=acme/tiny-en)--",
])
def test_injection_attempts_are_values_not_sql(db, attack):
    try:
        rows = search(db, attack)
    except QueryError:
        rows = []
    assert rows == []
    assert db["models"].count == 3

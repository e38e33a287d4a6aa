"""Building the knowledge base: good data lands, bad data is refused with file, line and field, nothing lost."""
from __future__ import annotations

import sqlite3

import pytest
import sqlite_utils

from embedwise.errors import CuratedDataError
from embedwise.kb import store
from embedwise.kb.curated_files import load_curated
from kb_helpers import GOOD, write_curated


def test_build_writes_models_scores_sources(tmp_path, curated_dir):
    db_path = tmp_path / "kb.sqlite"
    result = store.build(db_path, curated_dir)
    assert result["models"] == 3
    db = sqlite_utils.Database(db_path)
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    meta = dict(db.execute("SELECT key, value FROM meta").fetchall())
    assert meta["schema_version"] == str(store.SCHEMA_VERSION)
    row = db["models"].get("acme/tiny-en")
    assert row["languages"] == '["eng"]' and row["min_dimension"] == 128 and row["mteb_retrieval"] == 41.0
    assert db.execute("SELECT count(*) FROM sources WHERE model_id='acme/tiny-en'").fetchone()[0] == 13
    assert {r["language"] for r in db["model_languages"].rows_where("model_id = ?", ["acme/big-multi"])} == {"eng", "zho", "deu"}
    # a plain SQLite file: the stdlib opens it, and the indexes exist
    conn = sqlite3.connect(db_path)
    indexes = {r[1] for r in conn.execute("SELECT * FROM sqlite_master WHERE type='index'")}
    assert any("modality" in i for i in indexes) and any("language" in i for i in indexes)
    # full-text search over names, descriptions and tags
    hits = list(db.query("SELECT m.id FROM models m JOIN models_fts f ON f.rowid = m.rowid WHERE models_fts MATCH 'legal'"))
    assert [h["id"] for h in hits] == ["acme/big-multi"]


BAD_CASES = {
    "missing source": ("    sources:\n      \"provider, modality", "    sources:\n      \"modality", "provider"),
    "unknown licence": ("license: Apache-2.0", "license: Apache2", "license"),
    "negative size": ("parameters: 22000000", "parameters: -5", "parameters"),
    "absurd size": ("parameters: 22000000", "parameters: 9000000000000000", "parameters"),
    "wrong type": ("max_tokens: 256", "max_tokens: lots", "max_tokens"),
    "unknown field": ("max_tokens: 256", "max_tokens: 256\n    colour: blue", "colour"),
    "bad language": ("languages: [eng]", "languages: [english]", "languages"),
    "not ISO 639-3": ("languages: [eng]", "languages: [en]", "languages"),
    "unknown trained_for": ("languages: [eng]", "languages: [eng]\n    trained_for: [telepathy]", "trained_for"),
    "unknown lifecycle": ("languages: [eng]", "languages: [eng]\n    lifecycle: zombie", "lifecycle"),
}


@pytest.mark.parametrize("case", sorted(BAD_CASES))
def test_bad_curated_data_is_refused_with_file_line_field(tmp_path, case):
    old, new, field = BAD_CASES[case]
    assert old in GOOD
    bad_dir = write_curated(tmp_path / "bad", GOOD.replace(old, new, 1))
    good_dir = write_curated(tmp_path / "good")
    db_path = tmp_path / "kb.sqlite"
    store.build(db_path, good_dir)
    before = db_path.read_bytes()
    with pytest.raises(CuratedDataError) as err:
        store.build(db_path, bad_dir)
    message = str(err.value)
    assert "models.yaml:" in message and field in message
    line = int(message.split("models.yaml:")[-1].split(":")[0])
    bad_lines = (bad_dir / "models.yaml").read_text().splitlines()
    assert field in bad_lines[line - 1] or case == "missing source"
    assert db_path.read_bytes() == before, "a failed build must leave the knowledge base as it was"
    assert not (tmp_path / "kb.sqlite.building").exists()


def test_duplicate_id_names_both_places(tmp_path):
    directory = write_curated(tmp_path / "c")
    write_curated(directory, GOOD, "more.yaml")
    with pytest.raises(CuratedDataError) as err:
        store.build(tmp_path / "kb.sqlite", directory)
    assert "duplicate id 'acme/tiny-en'" in str(err.value)
    assert "more.yaml:" in str(err.value) and "models.yaml:" in str(err.value)


def test_invalid_yaml_and_bad_encoding(tmp_path):
    directory = write_curated(tmp_path / "c", "models:\n  - id: [unclosed\n")
    with pytest.raises(CuratedDataError, match=r"models.yaml:\d+: invalid YAML"):
        store.build(tmp_path / "kb.sqlite", directory)
    (directory / "models.yaml").write_bytes(b"models:\n  - id: caf\xe9/x\n")
    with pytest.raises(CuratedDataError, match="not UTF-8"):
        store.build(tmp_path / "kb.sqlite", directory)


def test_rebuild_keeps_runs_sync_history_and_discovered_models(tmp_path, curated_dir):
    db_path = tmp_path / "kb.sqlite"
    store.build(db_path, curated_dir)
    db = sqlite_utils.Database(db_path)
    db["runs"].insert({"run_id": "r1", "model_id": "acme/tiny-en", "status": "ok", "metrics": '{"ndcg_at_10": 0.5}'})
    db["history"].insert({"model_id": "acme/tiny-en", "field": "downloads", "old": None, "new": "10", "run_id": "s1"})
    db.execute("UPDATE models SET downloads = 10 WHERE id = 'acme/tiny-en'")
    record = store.load_records(db, ["acme/tiny-en"])[0]
    discovered = record.model_copy(update={"id": "someone/new-model", "status": "discovered", "sources": {}})
    store.write_records(db, [discovered])
    db.conn.commit()
    db.close()
    store.build(db_path, curated_dir)
    db = sqlite_utils.Database(db_path)
    assert db["runs"].count == 1 and db["history"].count == 1
    assert db["models"].get("someone/new-model")["status"] == "discovered"
    assert db["models"].get("acme/tiny-en")["downloads"] == 10


def test_open_db_builds_on_first_use_and_when_curated_files_change(tmp_path, curated_dir):
    db_path = tmp_path / "kb.sqlite"
    store.build(db_path, curated_dir)
    db = store.open_db(db_path)
    assert db["models"].count == 3
    write_curated(curated_dir, GOOD.replace("name: tiny-en", "name: tiny-en-renamed"))
    db = store.open_db(db_path)
    assert db["models"].get("acme/tiny-en")["name"] == "tiny-en-renamed"


def test_trust_remote_code_is_never_a_default_for_open_weights(tmp_path):
    text = GOOD.replace(", trust_remote_code, safetensors\":", ", safetensors\":", 1)
    write_curated(tmp_path / "c", text)
    with pytest.raises(CuratedDataError, match="trust_remote_code needs a source"):
        load_curated(tmp_path / "c")


def _record(**over):
    from embedwise.kb.schema import ModelRecord

    data = {"id": "acme/x", "name": "x", "provider": "acme", "modality": "text", "input_modalities": ["text"],
            "license": "Apache-2.0", "commercial_use": True, "open_weights": True, "hosting": "self_host",
            "status": "discovered"}
    data.update(over)
    return ModelRecord.model_validate(data)


def test_a_price_needs_its_date():
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="price_date"):
        _record(hosting="api", open_weights=False, license="proprietary", price_per_million_tokens=0.1)
    assert _record(hosting="api", open_weights=False, license="proprietary", price_per_million_tokens=0.1,
                   price_date="2026-06-01").price_date.isoformat() == "2026-06-01"


def test_licence_inheritance_follows_the_strictest_of_model_and_base():
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="forbids commercial use"):
        _record(license="MIT", base_model="acme/research-base", base_model_license="CC-BY-NC-4.0",
                commercial_use=True)
    with pytest.raises(ValidationError, match="not permissive"):
        _record(license="Apache-2.0", base_model="google/gemma", base_model_license="LicenseRef-Gemma",
                permissive=True)
    ok = _record(license="Apache-2.0", base_model="google/gemma", base_model_license="LicenseRef-Gemma",
                 permissive=False)
    assert ok.commercial_use and ok.permissive is False


def test_the_shipped_records_inherit_their_base_licences():
    from embedwise.kb.curated_files import load_curated

    records = {r.id: r for r in load_curated()}
    colpali = records["vidore/colpali-v1.3"]  # MIT adapters on the Gemma-licensed PaliGemma
    assert colpali.base_model_license == "LicenseRef-Gemma" and colpali.permissive is False
    for r in records.values():
        if r.base_model_license in ("CC-BY-NC-4.0", "CC-BY-NC-SA-4.0", "LicenseRef-Research-Only"):
            assert not r.commercial_use, r.id


def test_macrolanguages_match_both_ways():
    from embedwise.kb.languages import covers, equivalents

    assert covers(["arb"], "ar") and covers(["ara"], "arb") and covers(["pes"], "fas") and covers(["nob"], "nor")
    assert covers(["cmn"], "zho") and covers(["zho"], "yue")
    assert not covers(["ary"], "arb")  # two members of one macrolanguage are different languages
    assert {"ara", "arb"} <= equivalents("ar")

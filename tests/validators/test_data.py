"""Loading the user's data: every layout, and every kind of malformed file answered with file:line and a fix."""
from __future__ import annotations

import json

import pytest

from embedwise.errors import BadInput
from embedwise.validators.data import (ClassificationSet, ClusteringSet, RetrievalSet, STSSet, detect_task,
                                       load_data)

from validators_helpers import write_beir, write_classification, write_sts


def bad(path, **kw) -> BadInput:
    with pytest.raises(BadInput) as info:
        load_data(path, **kw)
    return info.value


# --- layouts ----------------------------------------------------------------------------------------------------------

def test_beir_folder(beir_dir):
    ds = load_data(beir_dir)
    assert isinstance(ds, RetrievalSet) and not ds.synthetic
    assert len(ds.corpus) == 20 and len(ds.queries) == 8
    assert ds.qrels["q0"] == {"d0": 1}
    assert ds.doc_text("d0") == "Cats Cats are small pets. Cats purr and hunt mice at night."
    assert ds.doc_text("x0") == "Filler number 0 about a bank account fee."  # no title: no leading space


def test_beir_qrels_subfolder_and_queries_without_judgements(tmp_path):
    folder = write_beir(tmp_path / "b")
    (folder / "qrels").mkdir()
    (folder / "qrels.tsv").rename(folder / "qrels" / "test.tsv")
    with open(folder / "queries.jsonl", "a") as fh:
        fh.write(json.dumps({"_id": "unjudged", "text": "nothing"}) + "\n")
    ds = load_data(folder)
    assert "unjudged" not in ds.queries and any("no judgements" in n for n in ds.notes)


def test_retrieval_as_csv(tmp_path):
    f = tmp_path / "r"
    f.mkdir()
    (f / "corpus.csv").write_text('_id,title,text\nd1,One,"first, with a comma"\nd2,Two,second\n')
    (f / "queries.csv").write_text("_id,text\nq1,first\n")
    (f / "qrels.csv").write_text("query-id,corpus-id,score\nq1,d1,1\n")
    ds = load_data(f)
    assert ds.corpus["d1"] == ("One", "first, with a comma") and ds.qrels == {"q1": {"d1": 1}}


def test_trec_qrels_four_columns(tmp_path):
    folder = write_beir(tmp_path / "b")
    (folder / "qrels.tsv").write_text("q0 0 d0 1\nq1 0 d1 2\n")
    ds = load_data(folder)
    assert ds.qrels == {"q0": {"d0": 1}, "q1": {"d1": 2}}


def test_classification_train_test(cls_dir):
    ds = load_data(cls_dir)
    assert isinstance(ds, ClassificationSet)
    assert len(ds.train_texts) == 21 and len(ds.test_texts) == 9 and set(ds.test_labels) == {"card", "refund", "transfer"}


def test_classification_one_file_is_split_with_a_seed(cls_dir):
    single = cls_dir / "train.csv"
    (cls_dir / "test.csv").unlink()
    a, b = load_data(single), load_data(single)
    assert a.test_texts == b.test_texts and a.train_texts == b.train_texts
    assert set(a.test_labels) == {"card", "refund", "transfer"}  # stratified
    assert not set(a.test_texts) & set(a.train_texts)
    c = load_data(single, seed=7)
    assert c.test_texts != a.test_texts


def test_classification_jsonl(tmp_path):
    p = tmp_path / "data.jsonl"
    p.write_text("\n".join(json.dumps({"text": f"text {i}", "label": i % 2}) for i in range(10)) + "\n")
    ds = load_data(p)
    assert isinstance(ds, ClassificationSet) and set(ds.train_labels) == {"0", "1"}


def test_clustering_when_asked(cls_dir):
    ds = load_data(cls_dir, task="clustering")
    assert isinstance(ds, ClusteringSet) and len(ds.texts) == 30 and len(set(ds.labels)) == 3


def test_sts_tsv_with_unbalanced_quotes(tmp_path):
    p = write_sts(tmp_path / "pairs.tsv")
    with open(p, "a") as fh:
        fh.write('He said "when in doubt, throw it out!\tA rule.\t2.0\n')
    ds = load_data(p)
    assert isinstance(ds, STSSet) and len(ds.scores) == 9 and ds.sentences1[-1].startswith('He said "when')


def test_sts_s1_s2_columns_in_a_folder(tmp_path):
    folder = tmp_path / "sts"
    folder.mkdir()
    (folder / "pairs.csv").write_text("s1,s2,score\na,b,1\nc,d,2\ne,f,3\n")
    (folder / "README.md").write_text("not data")
    assert detect_task(folder) == ("sts", False)
    assert isinstance(load_data(folder), STSSet)


def test_unlabeled_corpus_builds_a_synthetic_set(tmp_path):
    folder = write_beir(tmp_path / "b")
    (folder / "queries.jsonl").unlink()
    (folder / "qrels.tsv").unlink()
    ds = load_data(folder)
    assert isinstance(ds, RetrievalSet) and ds.synthetic
    assert ds.queries and all(len(v) == 1 for v in ds.qrels.values())
    for qid, query in ds.queries.items():
        (target,) = ds.qrels[qid]
        # the query sentence was taken out of its target document (inverse cloze)
        assert query not in ds.corpus[target][1] or len(ds.corpus[target][1].split(". ")) == 1
    again = load_data(folder)
    assert again.queries == ds.queries


def test_txt_corpus_is_unlabeled(tmp_path):
    p = tmp_path / "docs.txt"
    p.write_text("\n".join(f"Document {i} talks about bank fees and the refund rules of the bank." for i in range(5)))
    ds = load_data(p)
    assert ds.synthetic and ds.task == "retrieval" and len(ds.corpus) == 5


def test_bom_is_accepted(tmp_path):
    p = tmp_path / "c.csv"
    p.write_bytes("\ufefftext,label\nhello,a\nworld,b\nfoo,a\nbar,b\n".encode("utf-8"))
    assert isinstance(load_data(p), ClassificationSet)


# --- malformed data: BadInput with file and line -----------------------------------------------------------------------

def test_missing_path(tmp_path):
    err = bad(tmp_path / "nope")
    assert "nope" in err.where and "check --data" in str(err)


def test_missing_queries_file(tmp_path):
    folder = write_beir(tmp_path / "b")
    (folder / "queries.jsonl").unlink()
    err = bad(folder)
    assert err.where.endswith("queries.jsonl") and "missing queries file" in str(err)


def test_missing_qrels_file(tmp_path):
    folder = write_beir(tmp_path / "b")
    (folder / "qrels.tsv").unlink()
    err = bad(folder)
    assert err.where.endswith("qrels.tsv") and "missing qrels" in str(err)


def test_missing_test_file_partner(tmp_path):
    folder = write_classification(tmp_path / "c")
    (folder / "train.csv").unlink()
    err = bad(folder)
    assert err.where.endswith("train.csv")


def test_qrels_unknown_query_id(tmp_path):
    folder = write_beir(tmp_path / "b")
    with open(folder / "qrels.tsv", "a") as fh:
        fh.write("q99\td0\t1\n")
    err = bad(folder)
    assert err.where == f"{folder / 'qrels.tsv'}:10" and "'q99'" in str(err) and "queries.jsonl" in str(err)


def test_qrels_unknown_corpus_id(tmp_path):
    folder = write_beir(tmp_path / "b")
    lines = (folder / "qrels.tsv").read_text().splitlines()
    lines[3] = "q2\tghost\t1"
    (folder / "qrels.tsv").write_text("\n".join(lines) + "\n")
    err = bad(folder)
    assert err.where == f"{folder / 'qrels.tsv'}:4" and "'ghost'" in str(err)


def test_qrels_bad_score_and_columns(tmp_path):
    folder = write_beir(tmp_path / "b")
    (folder / "qrels.tsv").write_text("query-id\tcorpus-id\tscore\nq0\td0\thigh\n")
    assert bad(folder).where.endswith("qrels.tsv:2")
    (folder / "qrels.tsv").write_text("query-id\tcorpus-id\tscore\nq0\td0\n")
    err = bad(folder)
    assert err.where.endswith("qrels.tsv:2") and "3 columns" in str(err)


def test_duplicate_document_ids(tmp_path):
    folder = write_beir(tmp_path / "b")
    with open(folder / "corpus.jsonl", "a") as fh:
        fh.write(json.dumps({"_id": "d3", "title": "", "text": "again"}) + "\n")
    err = bad(folder)
    assert err.where == f"{folder / 'corpus.jsonl'}:21" and "duplicate document id 'd3'" in str(err)
    assert "first on line 4" in str(err)


def test_duplicate_query_ids(tmp_path):
    folder = write_beir(tmp_path / "b")
    with open(folder / "queries.jsonl", "a") as fh:
        fh.write(json.dumps({"_id": "q1", "text": "again"}) + "\n")
    err = bad(folder)
    assert err.where == f"{folder / 'queries.jsonl'}:9" and "duplicate query id" in str(err)


def test_empty_corpus(tmp_path):
    folder = write_beir(tmp_path / "b")
    (folder / "corpus.jsonl").write_text("\n\n")
    err = bad(folder)
    assert err.where == f"{folder / 'corpus.jsonl'}:1" and "corpus is empty" in str(err)


def test_bad_encoding_names_the_line(tmp_path):
    folder = write_beir(tmp_path / "b")
    raw = (folder / "corpus.jsonl").read_bytes().splitlines(keepends=True)
    raw[3] = raw[3].replace(b"Magma", "Magm\u00e4".encode("latin-1"))
    (folder / "corpus.jsonl").write_bytes(b"".join(raw))
    err = bad(folder)
    assert err.where == f"{folder / 'corpus.jsonl'}:4" and "UTF-8" in str(err) and "iconv" in str(err)


def test_bad_encoding_in_csv(tmp_path):
    p = tmp_path / "c.csv"
    p.write_bytes(b"text,label\nok,a\ncaf\xe9,b\n")
    err = bad(p)
    assert err.where == f"{p}:3"


def test_invalid_json_line(tmp_path):
    folder = write_beir(tmp_path / "b")
    with open(folder / "corpus.jsonl", "a") as fh:
        fh.write('{"_id": "broken", "text": \n')
    err = bad(folder)
    assert err.where == f"{folder / 'corpus.jsonl'}:21" and "not valid JSON" in str(err)


def test_wrong_columns(tmp_path):
    p = tmp_path / "c.csv"
    p.write_text("sentence,category_name\nhello,a\n")
    err = bad(p)
    assert err.where == f"{p}:1" and "cannot tell the task" in str(err)
    err = bad(p, task="sts")
    assert err.where == f"{p}:1" and "wrong columns for STS" in str(err) and "sentence1" in str(err)


def test_wrong_columns_in_corpus(tmp_path):
    folder = write_beir(tmp_path / "b")
    (folder / "corpus.jsonl").write_text(json.dumps({"_id": "d0", "body_text": "x"}) + "\n")
    err = bad(folder)
    assert err.where.endswith("corpus.jsonl:1") and "wrong columns" in str(err)


def test_document_without_id(tmp_path):
    folder = write_beir(tmp_path / "b")
    with open(folder / "corpus.jsonl", "a") as fh:
        fh.write(json.dumps({"title": "t", "text": "no id"}) + "\n")
    err = bad(folder)
    assert err.where.endswith("corpus.jsonl:21") and "without an id" in str(err)


def test_csv_row_with_extra_fields_and_multiline_record(tmp_path):
    p = tmp_path / "c.csv"
    p.write_text('text,label\n"two\nlines",a\nfine,b\ntoo,many,fields\n')
    err = bad(p)
    assert err.where == f"{p}:5" and "3 fields" in str(err)


def test_sts_score_not_a_number(tmp_path):
    p = write_sts(tmp_path / "pairs.tsv")
    with open(p, "a") as fh:
        fh.write("a\tb\tvery similar\n")
    err = bad(p)
    assert err.where == f"{p}:10" and "not a number" in str(err)


def test_empty_label(tmp_path):
    p = tmp_path / "c.csv"
    p.write_text("text,label\nhello,a\nworld,\n")
    err = bad(p)
    assert err.where == f"{p}:3" and "label" in str(err)


def test_empty_file(tmp_path):
    p = tmp_path / "c.csv"
    p.write_text("")
    assert bad(p).where == f"{p}:1"


def test_unknown_task(beir_dir):
    assert bad(beir_dir, task="ranking").where == "--task"

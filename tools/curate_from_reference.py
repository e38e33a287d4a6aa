#!/usr/bin/env python
"""Build the curated knowledge base (embedwise/kb/curated/*.yaml) from the reference data and a hand-written overlay.

Dev tool, not shipped. The figures (dimensions, parameters, memory, max tokens, licence, languages, release date,
benchmark scores, prices) carry over from ../shared/data/reference/ with their provenance; the curation (which models,
ids, domains, licence mapping to SPDX, commercial use, hosting, prefixes, corrections, descriptions, tags) is
hand-written in tools/curation.yaml.

    /work/venv/bin/python tools/curate_from_reference.py            # write the curated YAML and the test subsets
    /work/venv/bin/python tools/curate_from_reference.py --check    # fail if the committed files differ

Every fact gets a source. Where the overlay sets a value that disagrees with mteb's ModelMeta it must say why
(`fix: {field: note}`), otherwise the script stops: a correction is never silent.
"""
from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import math
import os
import re
import sys
from collections import OrderedDict
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
# The reference data sits beside the checkout (../shared) in a working copy, at /work/shared on the team's machines.
REFERENCE = next((p for p in (Path(os.environ.get("EMBEDWISE_REFERENCE", ROOT.parent / "shared" / "data" / "reference")),
                              Path("/work/shared/data/reference")) if (p / "mteb_model_meta.json").exists()),
                 ROOT.parent / "shared" / "data" / "reference")
OVERLAY = ROOT / "tools" / "curation.yaml"
OUT_DIR = ROOT / "embedwise" / "kb" / "curated"
SUBSET = ROOT / "tests" / "data" / "mteb_meta_subset.json"
PRICE_SUBSET = ROOT / "tests" / "data" / "api_pricing_subset.json"

MTEB_VERSION = "2.26.24"
RESULTS_COMMIT = "f4cc6c8b365a3c779dbc708d6affe0b0355b2ddf"
FILES = ["text_dense", "text_sparse_multivector", "api", "domain", "image", "audio", "multimodal"]

# mteb licence strings -> SPDX (or LicenseRef-) ids. Anything not listed must be decided in the overlay.
LICENSE_MAP = {
    "apache-2.0": "Apache-2.0", "mit": "MIT", "cc-by-4.0": "CC-BY-4.0", "cc-by-nc-4.0": "CC-BY-NC-4.0",
    "cc-by-nc-sa-4.0": "CC-BY-NC-SA-4.0", "cc-by-sa-4.0": "CC-BY-SA-4.0", "bsd-3-clause": "BSD-3-Clause",
    "openmdw-1.1": "OpenMDW-1.1", "gemma": "LicenseRef-Gemma", "https://ai.google.dev/gemma/terms": "LicenseRef-Gemma",
    "https://www.nvidia.com/en-us/agreements/enterprise-software/nvidia-open-model-license/":
        "LicenseRef-NVIDIA-Open-Model",
}
PERMISSIVE_OR_COPYLEFT_COMMERCIAL = {"Apache-2.0", "MIT", "CC-BY-4.0", "CC-BY-SA-4.0", "BSD-3-Clause", "OpenMDW-1.1",
                                     "BSD-2-Clause", "CC0-1.0"}
NON_COMMERCIAL = {"CC-BY-NC-4.0", "CC-BY-NC-SA-4.0", "CC-BY-NC-ND-4.0", "LicenseRef-NVIDIA-NC", "LicenseRef-Jina-NC"}
MODEL_TYPE = {"dense": "dense", "sparse": "sparse", "late-interaction": "multi_vector"}
SIMILARITY = {"cosine": "cosine", "dot": "dot", "euclidean": "euclidean", "MaxSim": "max_sim", "max_sim": "max_sim"}
INPUT_ORDER = ["text", "image", "audio", "video"]
SCORE_TYPES = ["Retrieval", "Classification", "MultilabelClassification", "Clustering", "STS", "Reranking",
               "PairClassification", "Summarization", "BitextMining", "InstructionRetrieval", "InstructionReranking"]
RETRIEVAL_TASKS = ["SciFact", "NFCorpus", "ArguAna", "FiQA2018", "TRECCOVID"]

FIELD_ORDER = [
    "id", "name", "provider", "family", "description", "tags", "hf_id", "api_name", "modality", "input_modalities",
    "output", "domains", "languages", "multilingual", "license", "commercial_use", "open_weights", "hosting",
    "parameters", "memory_mb", "dimensions", "max_tokens", "similarity", "query_prefix", "document_prefix",
    "trust_remote_code", "safetensors", "release_date", "price_per_million_tokens", "price_confidence", "scores",
    "sources",
]
FACT_FIELDS = {
    "provider", "modality", "input_modalities", "output", "domains", "languages", "multilingual", "license",
    "commercial_use", "open_weights", "hosting", "parameters", "memory_mb", "dimensions", "max_tokens", "similarity",
    "query_prefix", "document_prefix", "trust_remote_code", "safetensors", "release_date", "price_per_million_tokens",
    "downloads", "likes", "hf_id", "api_name",
}
OVERLAY_ONLY = {"mteb", "mteb_fields", "scores_as", "ref", "fix", "note", "notes", "src", "price_row", "subset"}


class CurationError(Exception):
    pass


# ---------------------------------------------------------------------------------------------------------------
# Reference data
# ---------------------------------------------------------------------------------------------------------------

def load_reference():
    meta = json.loads((REFERENCE / "mteb_model_meta.json").read_text())
    if meta.get("mteb_version") != MTEB_VERSION:
        raise CurationError(f"reference mteb version {meta.get('mteb_version')} != {MTEB_VERSION}")
    metas = {m["name"]: m for m in meta["models"]}
    with open(REFERENCE / "mteb_scores.csv", newline="") as fh:
        scores = list(csv.DictReader(fh))
    with open(REFERENCE / "mteb_retrieval_tasks.csv", newline="") as fh:
        retrieval = list(csv.DictReader(fh))
    with open(REFERENCE / "api_pricing.csv", newline="") as fh:
        prices = list(csv.DictReader(fh))
    return metas, scores, retrieval, prices


def iso639_3(code: str) -> str | None:
    from embedwise.kb.languages import normalise_language
    try:
        return normalise_language(code)
    except ValueError:
        return None


def _first_segment(text: str) -> str:
    """The first '; '-separated part of a source list, ignoring separators inside parentheses."""
    depth = 0
    for i, ch in enumerate(text):
        depth += ch == "("
        depth -= ch == ")"
        if ch == ";" and depth == 0:
            return text[:i].strip()
    return text.strip()


def _num(text: str) -> float | None:
    try:
        return float(text)
    except (TypeError, ValueError):
        return None


# ---------------------------------------------------------------------------------------------------------------
# One record
# ---------------------------------------------------------------------------------------------------------------

def mteb_facts(m: dict) -> tuple[dict, dict]:
    """Facts read from one mteb ModelMeta, and notes about how they were read."""
    facts: dict = {}
    notes: dict = {}
    mods = [x for x in INPUT_ORDER if x in (m.get("modalities") or [])]
    if mods:
        facts["input_modalities"] = mods
        facts["modality"] = mods[0] if len(mods) == 1 else "multimodal"
    types = m.get("model_type") or []
    if types and types[0] in MODEL_TYPE:
        facts["output"] = MODEL_TYPE[types[0]]
    langs_raw = m.get("languages") or []
    langs, dropped = [], []
    for code in langs_raw:
        iso = iso639_3(code)
        if iso is None:
            dropped.append(code)
        elif iso not in langs:
            langs.append(iso)
    if langs:
        facts["languages"] = langs
        facts["multilingual"] = len(langs) >= 10
        n = []
        valid = [c for c in langs_raw if iso639_3(c)]
        if len(set(valid)) != len(valid):
            n.append("mteb's list repeats entries: duplicates removed")
        if len(langs) != len(set(valid)):
            n.append("script variants of one language (e.g. hin-Deva, hin-Latn) merged")
        n.append("script suffixes stripped to ISO 639-3")
        if dropped:
            n.append("non-ISO entries (programming languages) dropped: " + ", ".join(sorted(set(dropped))))
        n.append("multilingual = 10 or more languages")
        notes["languages"] = "; ".join(n)
    lic = m.get("license")
    if lic in LICENSE_MAP:
        facts["license"] = LICENSE_MAP[lic]
        if lic != LICENSE_MAP[lic].lower() or lic.startswith("http"):
            notes["license"] = f"mteb licence {lic!r} mapped to {LICENSE_MAP[lic]}"
    if m.get("open_weights") is not None:
        facts["open_weights"] = bool(m["open_weights"])
    if m.get("n_parameters"):
        facts["parameters"] = int(m["n_parameters"])
    if m.get("memory_usage_mb"):
        facts["memory_mb"] = float(m["memory_usage_mb"])
    elif m.get("n_parameters"):
        facts["memory_mb"] = round(m["n_parameters"] * 4 / 2**20, 1)
        notes["memory_mb"] = "computed as parameters x 4 bytes (fp32) / 2^20; mteb gives no memory_usage_mb"
    dim = m.get("embed_dim")
    if isinstance(dim, list) and dim:
        facts["dimensions"] = sorted({int(d) for d in dim}, reverse=True)
        notes["dimensions"] = "mteb lists several (Matryoshka) sizes; the largest is taken as the default"
    elif isinstance(dim, (int, float)) and dim:
        facts["dimensions"] = [int(dim)]
    mt = m.get("max_tokens")
    if isinstance(mt, (int, float)) and math.isfinite(mt) and mt >= 1:
        facts["max_tokens"] = int(mt)
    sim = m.get("similarity_fn_name")
    if sim in SIMILARITY:
        facts["similarity"] = SIMILARITY[sim]
    lk = m.get("loader_kwargs") or {}
    if lk.get("trust_remote_code") is True:
        facts["trust_remote_code"] = True
        notes["trust_remote_code"] = "mteb loader_kwargs trust_remote_code=True"
    if "safetensors" in (m.get("framework") or []):
        facts["safetensors"] = True
        notes["safetensors"] = "mteb framework list includes safetensors"
    if m.get("open_weights"):
        prompts = lk.get("model_prompts") or {}
        for key, field in (("query", "query_prefix"), ("document", "document_prefix")):
            p = prompts.get(key)
            if isinstance(p, str) and p and (p.endswith((" ", ":", "：", "\n"))):
                facts[field] = p
                notes[field] = f"mteb loader_kwargs model_prompts[{key!r}]"
            elif isinstance(p, str) and p.endswith("{text}"):
                facts[field] = p[: -len("{text}")]
                notes[field] = f"mteb loader_kwargs model_prompts[{key!r}] without its '{{text}}' placeholder"
    if m.get("release_date"):
        facts["release_date"] = dt.date.fromisoformat(m["release_date"])
    return facts, notes


def _show(value) -> str:
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, list):
        return "[" + ", ".join(str(v) for v in value) + "]"
    return repr(value)


def default_dim(value) -> int | None:
    if isinstance(value, list):
        return value[0] if value else None
    return value


def same(field: str, a, b) -> bool:
    if field == "dimensions":
        return default_dim(a) == default_dim(b)
    if field == "languages":
        return list(a) == list(b)
    return a == b


def source(ref: str, date: str, note: str | None = None) -> dict:
    s = {"ref": ref, "date": dt.date.fromisoformat(date)}
    if note:
        s["note"] = note
    return s


def build_record(entry: dict, ctx: dict) -> tuple[dict, dict | None]:
    metas, date = ctx["metas"], ctx["date"]
    unknown = set(entry) - set(FIELD_ORDER) - OVERLAY_ONLY
    if unknown:
        raise CurationError(f"{entry.get('id')}: unknown overlay keys {sorted(unknown)}")
    rid = entry["id"]
    hf_id = entry.get("hf_id")
    mteb_name = entry.get("mteb", rid if rid in metas else None)
    meta = metas.get(mteb_name) if mteb_name else None
    if mteb_name and meta is None:
        raise CurationError(f"{rid}: mteb name {mteb_name!r} not in mteb_model_meta.json")
    if entry.get("ref"):
        card = entry["ref"]
    elif "hf_id" in entry and hf_id is None:
        card = None  # not a hub repo: every hand-set fact needs src
    else:
        card = f"https://huggingface.co/{hf_id or rid}"
    fixes = entry.get("fix") or {}
    extra_notes = entry.get("notes") or {}
    src_over = entry.get("src") or {}

    rec: dict = {"id": rid}
    srcs: dict = {}

    mref = f"mteb {MTEB_VERSION} ModelMeta {mteb_name!r}" if meta else None
    mfacts, mnotes = mteb_facts(meta) if meta else ({}, {})
    allowed = entry.get("mteb_fields")
    if allowed is not None:
        mfacts = {k: v for k, v in mfacts.items() if k in allowed}
    for field, value in mfacts.items():
        rec[field] = value
        srcs[field] = source(mref, date, mnotes.get(field))

    hand_ref_default = card
    for field in FIELD_ORDER:
        if field not in entry or field in ("id",):
            continue
        value = entry[field]
        if value is None:
            continue
        if value == "" and field in mfacts:
            # an explicit "no value": a correction that removes mteb's fact, keeping the reason as a source note
            if field not in fixes:
                raise CurationError(f"{rid}: overlay removes mteb's {field}; add fix.{field}")
            rec.pop(field, None)
            srcs[field] = source(src_over.get(field) or hand_ref_default,
                                 date, f"corrects mteb ModelMeta ({field} {_show(mfacts[field])}): {fixes[field]}")
            continue
        if field == "release_date" and isinstance(value, str):
            value = dt.date.fromisoformat(value)
        if field in FACT_FIELDS:
            ref = src_over.get(field) or hand_ref_default
            if not ref:
                raise CurationError(f"{rid}: no source for hand-set {field}; give 'ref' or src.{field}")
            note = extra_notes.get(field)
            if field in mfacts and not same(field, mfacts[field], value):
                if field not in fixes:
                    raise CurationError(
                        f"{rid}: overlay {field}={value!r} disagrees with mteb {_show(mfacts[field])}; add fix.{field}")
                note = f"corrects mteb ModelMeta ({field} {_show(mfacts[field])}): {fixes[field]}"
            elif field in mfacts and field == "dimensions" and value != mfacts[field]:
                note = note or (f"default {value[0]} as in mteb ModelMeta {mteb_name!r}; "
                                f"the other (truncation) sizes from the source cited here")
            elif field in fixes:
                note = fixes[field]
            elif field in mfacts:
                # the overlay repeats mteb's value: keep mteb's provenance
                continue
            srcs[field] = source(ref, date, note)
        rec[field] = value

    for field, note in extra_notes.items():
        if field in mfacts and field not in entry and field in srcs:
            prior = srcs[field].get("note")
            srcs[field] = source(srcs[field]["ref"], date, f"{prior}; {note}" if prior else note)

    # Derived facts
    rec.setdefault("name", rid.split("/", 1)[1])
    if "provider" not in rec:
        owner = rid.split("/", 1)[0]
        rec["provider"] = ctx["providers"].get(owner, owner)
        srcs["provider"] = source(card or mref, date, "the organisation that publishes the model")
    if "open_weights" not in rec:
        raise CurationError(f"{rid}: open_weights unknown (no mteb meta): set it in the overlay")
    if "hosting" not in rec:
        rec["hosting"] = "self_host" if rec["open_weights"] else "api"
        srcs["hosting"] = source(card or mref, date, "open weights, no vendor-hosted API known to the curator"
                                 if rec["open_weights"] else "API only")
    if rec["open_weights"] and "hf_id" not in rec and rec["hosting"] != "api" and entry.get("hf_id", True) is not None:
        rec["hf_id"] = rid
        srcs["hf_id"] = source(card, date)
    if "license" not in rec:
        raise CurationError(f"{rid}: licence unknown: set it in the overlay (mteb says {meta and meta.get('license')!r})")
    if "commercial_use" not in rec:
        lic = rec["license"]
        if lic in PERMISSIVE_OR_COPYLEFT_COMMERCIAL:
            cu, why = True, f"{lic} permits commercial use"
        elif lic in NON_COMMERCIAL:
            cu, why = False, f"{lic} forbids commercial use"
        elif lic == "proprietary":
            cu, why = True, "a paid commercial API; use is governed by the provider's terms of service"
        else:
            raise CurationError(f"{rid}: licence {lic} needs a hand decision on commercial_use (with notes)")
        rec["commercial_use"] = cu
        lsrc = srcs.get("license", {"ref": card or mref})
        srcs["commercial_use"] = source(lsrc["ref"], date, "derived from the licence: " + why)
    if "domains" not in rec:
        rec["domains"] = ["general"]
        srcs["domains"] = source(card or mref, date, "general-purpose model (curator's reading of the source)")
    if "modality" not in rec or "input_modalities" not in rec:
        raise CurationError(f"{rid}: modality unknown")
    if rec.get("hosting") == "self_host" and not rec.get("open_weights"):
        raise CurationError(f"{rid}: self_host without open weights")
    if "memory_mb" not in rec and rec.get("parameters"):
        rec["memory_mb"] = round(rec["parameters"] * 4 / 2**20, 1)
        psrc = srcs.get("parameters", {"ref": card})
        srcs["memory_mb"] = source(psrc["ref"], date, "computed as parameters x 4 bytes (fp32) / 2^20")

    # Price
    if entry.get("price_row"):
        row = ctx["prices"].get(entry["price_row"])
        if row is None:
            raise CurationError(f"{rid}: no api_pricing.csv row {entry['price_row']!r}")
        raw = row["usd_per_1M_input_tokens"].strip()
        value = _num(raw)
        first = _first_segment(row["price_source"])
        ref = f"reference api_pricing.csv row {entry['price_row']!r}: {first}"
        bits = [f"source type: {row['price_source_type'] or 'n/a'}", f"confidence: {row['confidence'] or 'n/a'}"]
        if row["price_date"]:
            bits.append(f"dated: {row['price_date']}")
        if row["notes"]:
            bits.append(row["notes"])
        if value is None and raw.upper().startswith("UNCERTAIN"):
            m = re.search(r"~\s*([0-9.]+)", raw)
            value = float(m.group(1)) if m else None
            bits.insert(0, f"csv says {raw!r}; the per-token conversion is taken with low confidence")
        if value is not None:
            rec["price_per_million_tokens"] = value
            rec["price_confidence"] = (row["confidence"] or "low").split(" ")[0] if not raw.upper().startswith(
                "UNCERTAIN") else "low"
            srcs["price_per_million_tokens"] = source(ref, date, "; ".join(bits))
        else:
            srcs["price_per_million_tokens"] = source(
                ref, date, f"price NOT FOUND in the reference data ({raw or 'blank'}); left unset. " + "; ".join(bits))
        ctx["price_subset"][rid] = {"row": entry["price_row"], "usd_per_1M": value,
                                    "confidence": rec.get("price_confidence")}

    # Scores
    rec["scores"] = scores_for(entry.get("scores_as") or mteb_name or rid, ctx)

    # Subset for the offline agreement test
    subset = None
    if meta and allowed is None and entry.get("subset", True):
        subset = {"mteb_name": mteb_name, "embed_dim": meta.get("embed_dim"), "n_parameters": meta.get("n_parameters"),
                  "max_tokens": meta.get("max_tokens") if meta.get("max_tokens") is None or math.isfinite(
                      meta["max_tokens"]) else None,
                  "license": meta.get("license"), "open_weights": meta.get("open_weights")}

    # Sources: group identical ones under comma-joined keys
    grouped: OrderedDict = OrderedDict()
    for field in FIELD_ORDER:
        if field in srcs:
            key = json.dumps(srcs[field], default=str, sort_keys=True)
            grouped.setdefault(key, []).append(field)
    rec["sources"] = {", ".join(fields): srcs[fields[0]] for fields in grouped.values()}
    missing = [f for f in FACT_FIELDS if f in rec and rec[f] not in (None, []) and f not in srcs]
    if missing:
        raise CurationError(f"{rid}: facts without source {missing}")
    ordered = {k: rec[k] for k in FIELD_ORDER if k in rec and rec[k] not in (None, [], "")}
    if not rec["scores"]:
        ordered.pop("scores", None)
    return ordered, subset


def scores_for(name: str, ctx: dict) -> list[dict]:
    out = []
    for row in ctx["scores"]:
        if name not in (row["model"], row["mteb_meta_name"]):
            continue
        src = row["source"]
        bench = row["benchmark"]
        complete = row["complete"] == "True"
        if complete:
            out.append({"benchmark": bench, "task_type": "Mean", "task": "Mean (Task)", "metric": "main_score",
                        "value": float(row["mean_task"]), "comparable": True, "source": src})
            if _num(row["mean_tasktype"]) is not None:
                out.append({"benchmark": bench, "task_type": "Mean", "task": "Mean (TaskType)",
                            "metric": "main_score", "value": float(row["mean_tasktype"]), "comparable": True,
                            "source": src})
        elif _num(row["partial_mean_over_available_tasks"]) is not None:
            out.append({"benchmark": bench, "task_type": "Mean", "task": "Mean (Task)", "metric": "main_score",
                        "value": float(row["partial_mean_over_available_tasks"]), "comparable": False,
                        "source": f"{src} (partial mean over {row['n_tasks_scored']} of {row['n_tasks_benchmark']}"
                                  f" tasks; not comparable)"})
        for t in SCORE_TYPES:
            v = _num(row.get(t))
            if v is not None:
                out.append({"benchmark": bench, "task_type": t, "task": "mean", "metric": "main_score", "value": v,
                            "comparable": True, "source": src})
    for row in ctx["retrieval"]:
        if name not in (row["model"], row["mteb_meta_name"]):
            continue
        for t in RETRIEVAL_TASKS:
            v = _num(row.get(t))
            if v is not None:
                out.append({"benchmark": "MTEB", "task_type": "Retrieval", "task": t, "metric": "ndcg_at_10",
                            "value": v, "comparable": True, "source": row["source"] + " (test split)"})
    return out


# ---------------------------------------------------------------------------------------------------------------
# YAML output: block style records, compact sources and scores
# ---------------------------------------------------------------------------------------------------------------

class Flow(dict):
    pass


class FlowList(list):
    pass


class Dumper(yaml.SafeDumper):
    pass


def _repr_flow(dumper, data):
    return dumper.represent_mapping("tag:yaml.org,2002:map", data.items(), flow_style=True)


def _repr_flow_list(dumper, data):
    return dumper.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=True)


def _repr_str(dumper, data):
    if "\n" in data:
        return dumper.represent_scalar("tag:yaml.org,2002:str", data, style='"')
    return dumper.represent_scalar("tag:yaml.org,2002:str", data)


Dumper.add_representer(Flow, _repr_flow)
Dumper.add_representer(FlowList, _repr_flow_list)
Dumper.add_representer(str, _repr_str)
Dumper.add_representer(OrderedDict, lambda d, data: d.represent_mapping("tag:yaml.org,2002:map", data.items()))


def to_yaml(records: list[dict], header: str) -> str:
    out = []
    for r in records:
        r = dict(r)
        for k in ("tags", "input_modalities", "domains", "languages", "dimensions"):
            if k in r:
                r[k] = FlowList(r[k])
        if "scores" in r:
            r["scores"] = [Flow(s) for s in r["scores"]]
        r["sources"] = {k: Flow(v) for k, v in r["sources"].items()}
        out.append(r)
    body = yaml.dump({"models": out}, Dumper=Dumper, sort_keys=False, allow_unicode=True, width=100000)
    return header + body


def build_all() -> tuple[dict[str, str], dict, dict]:
    metas, scores, retrieval, prices = load_reference()
    overlay = yaml.safe_load(OVERLAY.read_text())
    price_index = {f"{r['provider']}|{r['model']}": r for r in prices}
    ctx = {"metas": metas, "scores": scores, "retrieval": retrieval, "prices": price_index,
           "date": str(overlay["curation_date"]), "price_subset": {},
           "providers": overlay.get("providers") or {}}
    texts, subset, seen = {}, {}, set()
    for fname in FILES:
        records = []
        for entry in overlay.get(fname) or []:
            if entry["id"] in seen:
                raise CurationError(f"duplicate id {entry['id']}")
            seen.add(entry["id"])
            rec, sub = build_record(entry, ctx)
            records.append(rec)
            if sub:
                subset[entry["id"]] = sub
        header = (f"# Generated by tools/curate_from_reference.py from ../shared/data/reference (mteb {MTEB_VERSION}"
                  f" ModelMeta, results commit {RESULTS_COMMIT[:12]}, api_pricing.csv) and tools/curation.yaml.\n"
                  "# Edit the overlay and re-run the script; do not edit by hand.\n")
        texts[fname] = to_yaml(records, header)
    return texts, subset, ctx["price_subset"]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="compare with the committed files instead of writing")
    args = ap.parse_args(argv)
    try:
        texts, subset, price_subset = build_all()
    except CurationError as exc:
        print(f"curation error: {exc}", file=sys.stderr)
        return 2
    outputs = {OUT_DIR / f"{k}.yaml": v for k, v in texts.items()}
    outputs[SUBSET] = json.dumps(dict(sorted(subset.items())), indent=1, ensure_ascii=False) + "\n"
    outputs[PRICE_SUBSET] = json.dumps(dict(sorted(price_subset.items())), indent=1) + "\n"
    if args.check:
        stale = [str(p) for p, t in outputs.items() if not p.exists() or p.read_text() != t]
        if stale:
            print("out of date: " + ", ".join(stale), file=sys.stderr)
            return 1
        print("curated files are up to date")
        return 0
    for path, text in outputs.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    n = sum(t.count("\n- id: ") + t.startswith("- id: ") for t in texts.values())
    print(f"wrote {len(texts)} files, {n} models; subset {len(subset)}; prices {len(price_subset)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

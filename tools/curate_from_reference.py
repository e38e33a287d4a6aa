#!/usr/bin/env python
"""Build the curated knowledge base (embedwise/kb/curated/) from the reference data, the hand-written overlay and
the checked facts.

Dev tool, not shipped. The figures (dimensions, parameters, max tokens, licence, languages, release date, benchmark
scores, zero-shot shares, prices) carry over from ../shared/data/reference/ with their provenance; the curation
(which models, ids, domains, licence mapping to SPDX, commercial use, hosting, prefixes, descriptions, tags) is
hand-written in tools/curation.yaml; facts checked against model cards, papers and vendor pages are in
tools/facts/*.yaml (format: tools/facts/README.md) and win over both. Outputs: one YAML file of records per kind,
reference/scores.csv (every benchmark figure, with its source) and reference/hardware_prices.yaml.

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
import os
import re
import sys
from collections import OrderedDict
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from curation_record import (DATE_FIELDS, FACT_FIELDS, FIELD_ORDER, MTEB_VERSION, SOURCED_WITH,  # noqa: E402
                             CurationError, build_record, finish, inherit_licence, source)
from curation_scores import RESULTS_COMMIT, ScoreTables, write_csv  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
# The reference data sits beside the checkout (../shared) in a working copy, at /work/shared on the team's machines.
REFERENCE = next((p for p in (Path(os.environ.get("EMBEDWISE_REFERENCE", ROOT.parent / "shared" / "data" / "reference")),
                              Path("/work/shared/data/reference")) if (p / "mteb_model_meta.json").exists()),
                 ROOT.parent / "shared" / "data" / "reference")
OVERLAY = ROOT / "tools" / "curation.yaml"
FACTS_DIR = Path(os.environ.get("EMBEDWISE_FACTS_DIR", ROOT / "tools" / "facts"))
OUT_DIR = ROOT / "embedwise" / "kb" / "curated"
SUBSET = ROOT / "tests" / "data" / "mteb_meta_subset.json"
PRICE_SUBSET = ROOT / "tests" / "data" / "api_pricing_subset.json"

FILES = ["text_dense", "text_sparse_multivector", "api", "domain", "image", "audio", "multimodal"]

# ---------------------------------------------------------------------------------------------------------------
# Reference data
# ---------------------------------------------------------------------------------------------------------------

def load_reference():
    meta = json.loads((REFERENCE / "mteb_model_meta.json").read_text())
    if meta.get("mteb_version") != MTEB_VERSION:
        raise CurationError(f"reference mteb version {meta.get('mteb_version')} != {MTEB_VERSION}")
    metas = {m["name"]: m for m in meta["models"]}
    with open(REFERENCE / "api_pricing.csv", newline="") as fh:
        prices = list(csv.DictReader(fh))
    return metas, prices


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

def apply_price(rec: dict, srcs: dict, entry: dict, ctx: dict) -> None:
    """An API price from api_pricing.csv, with its source type, confidence and date."""
    row = ctx["prices"].get(entry["price_row"])
    rid = rec["id"]
    if row is None:
        raise CurationError(f"{rid}: no api_pricing.csv row {entry['price_row']!r}")
    raw = row["usd_per_1M_input_tokens"].strip()
    value = _num(raw)
    ref = f"reference api_pricing.csv row {entry['price_row']!r}: {_first_segment(row['price_source'])}"
    bits = [f"source type: {row['price_source_type'] or 'n/a'}", f"confidence: {row['confidence'] or 'n/a'}"]
    if row["price_date"]:
        bits.append(f"dated: {row['price_date']}")
    if row["notes"]:
        bits.append(row["notes"])
    uncertain = raw.upper().startswith("UNCERTAIN")
    if value is None and uncertain:
        m = re.search(r"~\s*([0-9.]+)", raw)
        value = float(m.group(1)) if m else None
        bits.insert(0, f"csv says {raw!r}; the per-token conversion is taken with low confidence")
    kind = "vendor" if row["price_source_type"].startswith("official") else "secondary"
    confidence = "low" if uncertain else ((row["confidence"] or "low").split(" ")[0].lower())
    confidence = confidence if confidence in ("high", "medium", "low") else "low"
    if rec.get("price_status") == "no_public_price":  # a checked fact: the vendor no longer lists a price
        srcs["price_per_million_tokens"] = {**srcs.get("price_per_million_tokens", source(ref, ctx["date"], None, kind)),
                                            "note": (srcs.get("price_per_million_tokens", {}).get("note") or "")
                                            + f"; the reference table's older figure was {raw or 'blank'} ({ref})"}
    elif value is not None and "price_per_million_tokens" not in rec:
        rec["price_per_million_tokens"] = value
        rec["price_confidence"] = confidence
        rec["price_date"] = ctx["price_table_date"]
        bits.append(f"price_date is the date the reference price table was compiled ({ctx['price_table_date']})")
        srcs["price_per_million_tokens"] = source(ref, ctx["date"], "; ".join(bits), kind, confidence)
    elif value is None and "price_per_million_tokens" not in rec:
        rec["price_status"] = "no_public_price"
        srcs["price_per_million_tokens"] = source(
            ref, ctx["date"], f"no public price found ({raw or 'blank'}); " + "; ".join(bits), kind, "low")
    ctx["price_subset"][rid] = {"row": entry["price_row"], "usd_per_1M": value, "confidence": confidence}


# ---------------------------------------------------------------------------------------------------------------
# Checked facts (tools/facts/*.yaml) over the overlay
# ---------------------------------------------------------------------------------------------------------------

def load_facts() -> dict[str, dict]:
    """Checked facts by id (a new model's entry names its `file`)."""
    facts: dict[str, dict] = {}
    for path in sorted(FACTS_DIR.glob("*.yaml")):
        if path.name == "hardware.yaml":
            continue
        for item in yaml.safe_load(path.read_text()) or []:
            if not isinstance(item, dict) or "id" not in item:
                raise CurationError(f"{path.name}: every entry needs an id")
            prior = facts.get(item["id"])
            if prior is None:
                facts[item["id"]] = {**item, "_file": path.name}
                continue
            # a later pass (gap-filling) may add facts an earlier file left out, never repeat one
            twice = sorted(k for k in item if k in prior and k not in ("id", "src", "file", "mteb"))
            if twice:
                raise CurationError(f"{path.name}: {item['id']}: {', '.join(twice)} already given in {prior['_file']}")
            merged_src = {**(prior.get("src") or {}), **(item.get("src") or {})}
            facts[item["id"]] = {**prior, **{k: v for k, v in item.items() if k != "src"}, "src": merged_src,
                                 "_file": f"{prior['_file']}+{path.name}"}
    return facts


def merge_facts(entry: dict, checked: dict) -> dict:
    """The overlay entry with the checked facts laid over it; each checked fact brings its own source."""
    entry = dict(entry)
    src = dict(entry.get("src") or {})
    notes = dict(entry.get("notes") or {})
    fixes = dict(entry.get("fix") or {})
    confidence = dict(entry.get("confidence") or {})
    given = {}
    for key, value in (checked.get("src") or {}).items():
        for field in str(key).split(","):
            given[field.strip()] = value or {}
    for field, value in checked.items():
        if field in ("id", "_file", "src", "file", "mteb") or field not in FIELD_ORDER:
            if field not in ("id", "_file", "src", "file", "mteb"):
                raise CurationError(f"{checked['_file']}: {entry['id']}: unknown fact {field!r}")
            continue
        owner = SOURCED_WITH.get(field, field)
        info = given.get(field) or given.get(owner)
        if info is None:
            if field in FACT_FIELDS:
                raise CurationError(f"{checked['_file']}: {entry['id']}: {field} has no src")
            info = {}
        if field in DATE_FIELDS and isinstance(value, str):
            value = dt.date.fromisoformat(value)
        entry[field] = value
        if field in FACT_FIELDS and info.get("ref"):
            src[field] = info["ref"]
            if info.get("note"):
                notes[field] = info["note"]
                fixes[field] = info["note"]
            else:
                fixes[field] = f"checked against {info['ref']}"
            confidence[field] = info.get("confidence") or "medium"
    if checked.get("languages_claim") and "languages" not in checked:
        # a claim ("100+ languages") without a list replaces mteb's list of evaluation languages
        entry["languages"] = ""
        info = given.get("languages_claim") or given.get("languages") or {}
        src["languages"] = info.get("ref") or src.get("languages")
        fixes["languages"] = (f"the source claims {checked['languages_claim']!r} without a list; mteb's list is "
                              "the languages it was evaluated on, not those it supports")
        confidence["languages"] = info.get("confidence") or "medium"
    entry.update(src=src, notes=notes, fix=fixes, confidence=confidence)
    if "mteb" in checked and "mteb" not in entry:
        entry["mteb"] = checked["mteb"]
    return entry


# ---------------------------------------------------------------------------------------------------------------
# YAML output: block style records, compact sources and scores
# ---------------------------------------------------------------------------------------------------------------

class Flow(dict):
    pass


class FlowList(list):
    pass


class Dumper(yaml.SafeDumper):
    def ignore_aliases(self, data) -> bool:  # every value written out, no &anchors
        return True


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
        for k in ("tags", "input_modalities", "domains", "trained_for", "languages", "dimensions"):
            if k in r:
                r[k] = FlowList(r[k])
        if "scores" in r:
            r["scores"] = [Flow(s) for s in r["scores"]]
        r["sources"] = {k: Flow(v) for k, v in r["sources"].items()}
        out.append(r)
    body = yaml.dump({"models": out}, Dumper=Dumper, sort_keys=False, allow_unicode=True, width=100000)
    return header + body


def build_all() -> tuple[dict[str, str], str, dict, dict]:
    metas, prices = load_reference()
    overlay = yaml.safe_load(OVERLAY.read_text())
    facts = load_facts()
    tables = ScoreTables(REFERENCE)
    ctx = {"metas": metas, "prices": {f"{r['provider']}|{r['model']}": r for r in prices},
           "date": dt.date.fromisoformat(str(overlay["curation_date"])), "price_subset": {},
           "price_table_date": dt.date.fromisoformat(str(overlay["price_table_date"])),
           "providers": overlay.get("providers") or {}}
    entries_by_file: dict[str, list[dict]] = {f: list(overlay.get(f) or []) for f in FILES}
    known = {e["id"] for es in entries_by_file.values() for e in es}
    for rid, checked in facts.items():
        if rid not in known:
            if checked.get("file") not in FILES:
                raise CurationError(f"{checked['_file']}: new model {rid} needs file: one of {', '.join(FILES)}")
            entries_by_file[checked["file"]].append({"id": rid, "mteb": checked.get("mteb")})
    built: list[tuple[str, dict, dict, dict]] = []
    subset, seen = {}, set()
    for fname in FILES:
        for entry in entries_by_file[fname]:
            if entry["id"] in seen:
                raise CurationError(f"duplicate id {entry['id']}")
            seen.add(entry["id"])
            if entry["id"] in facts:
                entry = merge_facts(entry, facts[entry["id"]])
            rec, srcs, sub = build_record(entry, {**ctx, "file": fname})
            if entry.get("price_row"):
                apply_price(rec, srcs, entry, ctx)
            built.append((fname, entry, rec, srcs))
            if sub:
                subset[entry["id"]] = sub
    licences = {rec["id"]: rec["license"] for _, _, rec, _ in built}
    by_file: dict[str, list[dict]] = {f: [] for f in FILES}
    score_rows: list[dict] = []
    for fname, entry, rec, srcs in built:
        inherit_licence(rec, srcs, licences, ctx["date"])
        by_file[fname].append(finish(rec, srcs))
        if entry.get("mteb_fields") is not None and not entry.get("scores_as"):
            continue  # a mode of another model (bge-m3's sparse head): the other model's figures are not its own
        name = entry.get("scores_as") or entry.get("mteb", rec["id"] if rec["id"] in metas else None) or rec["id"]
        score_rows.extend({"model_id": rec["id"], **row} for row in tables.scores_for(name))
    header = (f"# Generated by tools/curate_from_reference.py from ../shared/data/reference (mteb {MTEB_VERSION}"
              f" ModelMeta, results commit {RESULTS_COMMIT[:12]}, api_pricing.csv), tools/curation.yaml and "
              "tools/facts/*.yaml.\n# Edit those and re-run the script; do not edit by hand.\n")
    texts = {fname: to_yaml(records, header) for fname, records in by_file.items()}
    return texts, write_csv(score_rows), subset, ctx["price_subset"]


HARDWARE_KEYS = ("id", "cloud", "instance", "gpu", "gpu_count", "gpu_memory_gb", "vcpus", "memory_gb", "usd_per_hour",
                 "pricing", "region", "src")


def hardware_yaml() -> str:
    """The checked hardware price table (tools/facts/hardware.yaml), copied with its sources."""
    path = FACTS_DIR / "hardware.yaml"
    rows = yaml.safe_load(path.read_text()) if path.exists() else []
    out = []
    for row in rows or []:
        unknown = set(row) - set(HARDWARE_KEYS)
        if unknown:
            raise CurationError(f"hardware.yaml: {row.get('id')}: unknown keys {sorted(unknown)}")
        out.append({k: row[k] for k in HARDWARE_KEYS if k in row})
    header = "# Generated by tools/curate_from_reference.py from tools/facts/hardware.yaml; do not edit by hand.\n"
    return header + yaml.safe_dump({"hardware": out}, sort_keys=False, allow_unicode=True, width=120)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="compare with the committed files instead of writing")
    args = ap.parse_args(argv)
    try:
        texts, scores_csv, subset, price_subset = build_all()
        hardware = hardware_yaml()
    except CurationError as exc:
        print(f"curation error: {exc}", file=sys.stderr)
        return 2
    outputs = {OUT_DIR / f"{k}.yaml": v for k, v in texts.items()}
    outputs[OUT_DIR / "reference" / "scores.csv"] = scores_csv
    outputs[OUT_DIR / "reference" / "hardware_prices.yaml"] = hardware
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

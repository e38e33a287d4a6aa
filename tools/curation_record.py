"""One curated record from mteb's ModelMeta, the hand overlay (tools/curation.yaml) and the checked facts
(tools/facts/*.yaml). Used by tools/curate_from_reference.py.

Precedence: checked facts > overlay > ModelMeta. Every fact gets a source with its kind (card, paper, vendor, mteb,
results, secondary, curator, derived) and a confidence, so the curation report can say how much rests on mteb alone.
"""
from __future__ import annotations

import datetime as dt
import math
import json
import re
from collections import OrderedDict

from embedwise.kb.licenses import is_non_commercial, is_permissive, strictest
from embedwise.kb.schema import FACT_FIELDS, SOURCED_WITH

MTEB_VERSION = "2.26.24"


class CurationError(Exception):
    pass


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
MODEL_TYPE = {"dense": "dense", "sparse": "sparse", "late-interaction": "multi_vector"}
SIMILARITY = {"cosine": "cosine", "dot": "dot", "euclidean": "euclidean", "MaxSim": "max_sim", "max_sim": "max_sim"}
INPUT_ORDER = ["text", "image", "audio", "video"]

FIELD_ORDER = [
    "id", "name", "provider", "family", "description", "tags", "hf_id", "api_name", "modality", "input_modalities",
    "output", "domains", "trained_for", "languages", "languages_basis", "languages_claim", "multilingual", "license",
    "commercial_use", "permissive", "base_model", "base_model_license", "open_weights", "hosting", "parameters",
    "active_parameters", "memory_mb", "dimensions", "max_tokens", "similarity", "query_prefix", "document_prefix",
    "trust_remote_code", "safetensors", "release_date", "release_date_confirmed", "lifecycle", "lifecycle_date",
    "replacement", "price_per_million_tokens", "price_date", "price_confidence", "price_status",
    "batch_price_per_million_tokens", "free_tokens", "sources",
]
OVERLAY_ONLY = {"mteb", "mteb_fields", "scores_as", "ref", "fix", "note", "notes", "src", "price_row", "subset",
                "confidence", "file"}
DATE_FIELDS = {"release_date", "lifecycle_date", "price_date"}
VENDOR_HOSTS = ("openai.com", "cohere.com", "cohere.ai", "voyageai.com", "mongodb.com", "cloud.google.com",
                "ai.google.dev", "developers.googleblog.com", "aws.amazon.com", "docs.aws.amazon.com", "mistral.ai",
                "jina.ai", "nomic.ai", "alibabacloud.com", "volcengine.com", "nvidia.com", "microsoft.com",
                "azure.microsoft.com", "blog.google", "deepmind.google", "perplexity.ai", "mixedbread.com",
                "snowflake.com", "ibm.com", "qwenlm.github.io", "lambda.ai", "lambdalabs.com", "runpod.io")


def iso639_3(code: str) -> str | None:
    from embedwise.kb.languages import normalise_language
    try:
        return normalise_language(code)
    except ValueError:
        return None



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
        facts["multilingual"] = len(langs) >= 2
        n = []
        valid = [c for c in langs_raw if iso639_3(c)]
        if len(set(valid)) != len(valid):
            n.append("mteb's list repeats entries: duplicates removed")
        if len(langs) != len(set(valid)):
            n.append("script variants of one language (e.g. hin-Deva, hin-Latn) merged")
        n.append("script suffixes stripped to ISO 639-3")
        if dropped:
            n.append("non-ISO entries (programming languages) dropped: " + ", ".join(sorted(set(dropped))))
        n.append("multilingual = more than one language")
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


def kind_of(ref: str) -> str:
    """Where a reference points: the model card, a paper, the vendor, mteb, the results repo, or a third party."""
    r = ref.lower()
    if r.startswith("mteb "):
        return "mteb"
    if "embeddings-benchmark/results" in r:
        return "results"
    if "huggingface.co/datasets" in r or "huggingface.co/spaces" in r or "huggingface.co/blog" in r:
        return "secondary"
    if "huggingface.co/" in r:
        return "card"
    if "arxiv.org" in r or "aclanthology.org" in r or "openreview.net" in r or "doi.org" in r:
        return "paper"
    if r.startswith("reference api_pricing.csv"):
        return "secondary"
    host = re.sub(r"^https?://", "", r).split("/")[0]
    if any(host == h or host.endswith("." + h) for h in VENDOR_HOSTS):
        return "vendor"
    if "github.com/" in r:
        return "card"  # the model's own repository README
    return "secondary"


def source(ref: str, date, note: str | None = None, kind: str | None = None, confidence: str | None = None) -> dict:
    s: dict = {"ref": ref, "date": date if isinstance(date, dt.date) else dt.date.fromisoformat(str(date))}
    if note:
        s["note"] = note
    s["kind"] = kind or kind_of(ref)
    if confidence:
        s["confidence"] = confidence
    return s


def _show(value) -> str:
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, list):
        return "[" + ", ".join(str(v) for v in value) + "]"
    return repr(value)


def _same(field: str, a, b) -> bool:
    if field == "dimensions":
        return (a[0] if a else None) == (b[0] if b else None)
    return a == b


def _memory_16bit(parameters: int) -> float:
    return round(parameters * 2 / 2**20, 1)


def build_record(entry: dict, ctx: dict) -> tuple[dict, dict, dict | None]:
    """The record's facts and their sources (ungrouped), and the mteb subset row for the agreement test."""
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
    notes = entry.get("notes") or {}
    src_over = entry.get("src") or {}
    confidence = entry.get("confidence") or {}

    rec: dict = {"id": rid}
    srcs: dict = {}
    mref = f"mteb {MTEB_VERSION} ModelMeta {mteb_name!r}" if meta else None
    mfacts, mnotes = mteb_facts(meta) if meta else ({}, {})
    allowed = entry.get("mteb_fields")
    if allowed is not None:
        mfacts = {k: v for k, v in mfacts.items() if k in allowed}
    for field, value in mfacts.items():
        rec[field] = value
        conf = "low" if field in ("release_date", "languages", "memory_mb") else "medium"
        srcs[field] = source(mref, date, mnotes.get(field), "mteb", conf)

    for field in FIELD_ORDER:
        if field not in entry or field == "id":
            continue
        value = entry[field]
        if value is None and field not in ("base_model",):
            continue
        if value == "" and field in mfacts:
            # an explicit "no value": a correction that removes mteb's fact, keeping the reason as a source note
            if field not in fixes:
                raise CurationError(f"{rid}: overlay removes mteb's {field}; add fix.{field}")
            rec.pop(field, None)
            if field == "languages" and entry.get("languages_basis"):
                rec["languages"] = []  # the list is unknown: the basis and claim stand for it
            ref = src_over.get(field) or card
            srcs[field] = source(ref, date, f"corrects mteb ModelMeta ({field} {_show(mfacts[field])}): "
                                 f"{fixes[field]}", confidence=confidence.get(field, "medium"))
            continue
        if field in DATE_FIELDS and isinstance(value, str):
            value = dt.date.fromisoformat(value)
        if field in FACT_FIELDS:
            ref = src_over.get(field) or card
            if not ref:
                raise CurationError(f"{rid}: no source for hand-set {field}; give 'ref' or src.{field}")
            note = notes.get(field)
            if field in mfacts and not _same(field, mfacts[field], value):
                if field not in fixes:
                    raise CurationError(
                        f"{rid}: overlay {field}={value!r} disagrees with mteb {_show(mfacts[field])}; add fix.{field}")
                note = f"corrects mteb ModelMeta ({field} {_show(mfacts[field])}): {fixes[field]}"
            elif field in mfacts and field == "dimensions" and value != mfacts[field]:
                note = note or (f"default {value[0]} as in mteb ModelMeta {mteb_name!r}; "
                                f"the other (truncation) sizes from the source cited here")
            elif field in fixes:
                note = fixes[field]
            elif field in mfacts and field not in confidence:
                continue  # the overlay repeats mteb's value unchecked: keep mteb's provenance
            srcs[field] = source(ref, date, note, confidence=confidence.get(field, "medium"))
        rec[field] = value

    for field, note in notes.items():
        if field in mfacts and field not in entry and field in srcs:
            prior = srcs[field].get("note")
            srcs[field] = {**srcs[field], "note": f"{prior}; {note}" if prior else note}

    _derive(rec, srcs, entry, ctx, card, mref, meta)
    subset = None
    if meta and allowed is None and entry.get("subset", True):
        mt = meta.get("max_tokens")
        subset = {"mteb_name": mteb_name, "embed_dim": meta.get("embed_dim"), "n_parameters": meta.get("n_parameters"),
                  "max_tokens": mt if mt is None or mt == mt and mt not in (float("inf"),) else None,
                  "license": meta.get("license"), "open_weights": meta.get("open_weights")}
    return rec, srcs, subset


def _derive(rec: dict, srcs: dict, entry: dict, ctx: dict, card: str | None, mref: str | None, meta) -> None:
    """Facts that follow from others: provider, hosting, hub id, commercial use, memory, trained_for, lifecycle."""
    rid, date = rec["id"], ctx["date"]
    base_ref = card or mref
    rec.setdefault("name", rid.split("/", 1)[1])
    if "provider" not in rec:
        owner = rid.split("/", 1)[0]
        rec["provider"] = ctx["providers"].get(owner, owner)
        srcs["provider"] = source(base_ref, date, "the organisation that publishes the model", confidence="high")
    if "open_weights" not in rec:
        raise CurationError(f"{rid}: open_weights unknown (no mteb meta): set it in the overlay")
    if "hosting" not in rec:
        rec["hosting"] = "self_host" if rec["open_weights"] else "api"
        srcs["hosting"] = source(base_ref, date, "open weights, no vendor-hosted API known to the curator"
                                 if rec["open_weights"] else "API only", confidence="medium")
    if rec["open_weights"] and "hf_id" not in rec and rec["hosting"] != "api" and entry.get("hf_id", True) is not None:
        rec["hf_id"] = rid
        srcs["hf_id"] = source(card, date, confidence="high")
    if "license" not in rec:
        raise CurationError(f"{rid}: licence unknown: set it in the overlay (mteb says {meta and meta.get('license')!r})")
    if "domains" not in rec:
        rec["domains"] = ["general"]
        srcs["domains"] = source(base_ref, date, "general-purpose model (curator's reading of the source)",
                                 "curator", "medium")
    if "modality" not in rec or "input_modalities" not in rec:
        raise CurationError(f"{rid}: modality unknown")
    if len(rec["input_modalities"]) > 1 and rec["modality"] != "multimodal":
        # the knowledge base's convention: a model that embeds two modalities into one space is multimodal
        rec["modality"] = "multimodal"
        srcs["modality"] = {**srcs.get("modality", srcs["input_modalities"]), "note": "multimodal: it embeds "
                            + " and ".join(rec["input_modalities"]) + " into one space"}
    if rec.get("hosting") == "self_host" and not rec.get("open_weights"):
        raise CurationError(f"{rid}: self_host without open weights")
    if rec.get("parameters") and rec.get("open_weights"):
        # One precision for every self-hostable model: the weights at 16 bits (bf16/fp16); the engine derives others.
        prior = rec.get("memory_mb")
        rec["memory_mb"] = _memory_16bit(rec.get("parameters"))
        psrc = srcs.get("parameters", {"ref": base_ref, "confidence": "medium"})
        why = "weights at 16-bit precision: parameters x 2 bytes / 2^20"
        if prior and abs(prior - rec["memory_mb"]) > 1:
            why += f" (mteb's memory_usage_mb {prior:g} is at another precision)"
        srcs["memory_mb"] = source(psrc["ref"], date, why, "derived", psrc.get("confidence", "medium"))
    elif not rec.get("open_weights"):
        rec.pop("memory_mb", None)
        srcs.pop("memory_mb", None)
    if rec.get("open_weights") and rec.get("safetensors") is None and "safetensors" not in srcs:
        srcs["safetensors"] = source(base_ref, date, "not checked: no file list of the repository was seen; the "
                                     "weights may be pickle-only (pytorch_model.bin): load them with care",
                                     "curator", "low")
    if not rec.get("trained_for"):
        rec["trained_for"], why = _guess_trained_for(rec, ctx["file"])
        srcs["trained_for"] = source(base_ref, date, why, "curator", "medium")
    if rec.get("release_date") and "release_date_confirmed" not in rec:
        kind = srcs.get("release_date", {}).get("kind")
        rec["release_date_confirmed"] = kind not in ("mteb", None)
        if not rec["release_date_confirmed"]:
            srcs["release_date"] = {**srcs["release_date"], "confidence": "low", "note": (
                (srcs["release_date"].get("note") + "; ") if srcs["release_date"].get("note") else "")
                + "mteb's date, not confirmed against the card, paper or vendor"}
    langs = rec.get("languages") or []
    if langs and "languages_basis" not in rec:
        kind = srcs.get("languages", {}).get("kind")
        basis = {"card": "card", "paper": "paper", "vendor": "vendor"}.get(kind)
        if basis is None:
            basis = "benchmark_only" if len(langs) > 1 else "card"
            if basis == "card":
                srcs["languages"] = {**srcs["languages"], "note": (srcs["languages"].get("note") or "")
                                     + "; a single-language model: mteb's one language taken as the card's"}
        rec["languages_basis"] = basis
    if rec.get("price_per_million_tokens") is not None:
        rec.setdefault("price_status", "listed")
        if "price_date" not in rec:
            if "api_pricing.csv" not in srcs["price_per_million_tokens"]["ref"]:
                raise CurationError(f"{rid}: a price needs price_date")
            rec["price_date"] = ctx["price_table_date"]
    elif rec.get("hosting") in ("api", "both") and "price_status" not in rec:
        rec["price_status"] = "no_public_price"
        srcs.setdefault("price_per_million_tokens", source(
            base_ref, date, "no public list price found in the stored vendor pages or the reference table",
            confidence="low"))


def _guess_trained_for(rec: dict, file: str) -> tuple[list[str], str]:
    tags = set(rec.get("tags") or [])
    inputs = set(rec.get("input_modalities") or [])
    why = "curator's reading of the description and tags; not checked against the card"
    if rec["id"] == "embedwise/bm25":
        return ["lexical"], "a term-matching baseline, not a trained model"
    if "code" in rec.get("domains", []):
        return ["code"], why
    if file == "image":
        return (["image_text"] if "text" in inputs else ["image"]), why
    if file == "audio":
        speech = tags & {"speech", "asr", "wav2vec2", "hubert", "wavlm", "whisper"}
        return (["speech"] if speech else ["general_audio"]), why
    if file == "multimodal":
        if tags & {"visual-document", "document-retrieval", "colpali", "late-interaction"}:
            return ["visual_document"], why
        if "video" in inputs and "image" not in inputs:
            return ["video"], why
        return ["image_text"], why
    if tags & {"masked-lm", "mlm", "pretrained-only"}:
        return ["masked_lm_only"], why
    if tags & {"paraphrase", "similarity", "sts"} and not tags & {"retrieval"}:
        return ["text_similarity"], why
    return ["text_retrieval"], why


def _commercial(licence: str, hand_value: bool | None) -> tuple[bool, str]:
    if licence in PERMISSIVE_OR_COPYLEFT_COMMERCIAL:
        return True, f"{licence} permits commercial use"
    if is_non_commercial(licence):
        return False, f"{licence} forbids commercial use"
    if licence == "proprietary":
        return True, "a paid commercial API; use is governed by the provider's terms of service"
    if licence in ("LicenseRef-Unknown", "LicenseRef-Other"):
        return False, f"{licence}: no licence text found that grants commercial use"
    if hand_value is not None:
        return hand_value, f"{licence}: the curator's reading of its terms"
    return True, f"{licence} allows commercial use under its conditions (acceptable-use policy, attribution, caps)"


def inherit_licence(rec: dict, srcs: dict, licences: dict, date) -> None:
    """commercial_use and permissive follow the strictest of the model's licence and its base model's."""
    own = rec["license"]
    base = rec.get("base_model")
    base_lic = rec.get("base_model_license") or (licences.get(base) if base else None)
    if base and base_lic:
        rec["base_model_license"] = base_lic
    governing = strictest(own, base_lic) if base_lic else own
    inherited = governing != own
    lic_src = srcs.get("license") or srcs.get("provider")
    if inherited or "commercial_use" not in rec:
        cu, why = _commercial(governing, None if inherited else rec.get("commercial_use"))
        if inherited:
            why = f"inherits base model {base}'s licence {base_lic}, stricter than its own {own}: {why}"
        rec["commercial_use"] = cu
        srcs["commercial_use"] = source(lic_src["ref"], date, "derived from the licence: " + why, "derived",
                                        lic_src.get("confidence", "medium"))
    permissive = is_permissive(own) and (base_lic is None or is_permissive(base_lic))
    rec["permissive"] = permissive
    if base_lic:
        why = (f"{own} is permissive but the base model {base} is under {base_lic}" if is_permissive(own) and not
               permissive else f"{own}, base model {base_lic}: {'both permissive' if permissive else 'not permissive'}")
    else:
        why = f"{own} is {'a' if permissive else 'not a'} permissive licence" + (
            f"; the base model {base}'s licence is not recorded" if base else "")
    srcs["permissive"] = source(lic_src["ref"], date, why, "derived", lic_src.get("confidence", "medium"))


def finish(rec: dict, srcs: dict) -> dict:
    """Group identical sources under comma-joined keys, order the fields, drop empty values."""
    for field, owner in SOURCED_WITH.items():
        if field in rec and owner not in srcs and owner in FACT_FIELDS and rec.get(owner) is not None:
            raise CurationError(f"{rec['id']}: {field} without a source for {owner}")
    missing = [f for f in FACT_FIELDS if f in rec and rec[f] not in (None, []) and f not in srcs]
    if missing:
        raise CurationError(f"{rec['id']}: facts without source {missing}")
    grouped: OrderedDict = OrderedDict()
    for field in FIELD_ORDER:
        if field in srcs and (field in rec or field in ("price_per_million_tokens", "base_model", "memory_mb",
                                                         "safetensors")):
            key = json.dumps(srcs[field], default=str, sort_keys=True)
            grouped.setdefault(key, []).append(field)
    rec["sources"] = {", ".join(fields): srcs[fields[0]] for fields in grouped.values()}
    return {k: rec[k] for k in FIELD_ORDER if k in rec and rec[k] not in (None, [], "")}

"""Language codes, in one place for the knowledge base and the requirements.

The knowledge base stores ISO 639-3. Users may write ISO 639-1 (`ar`), 639-2/B (`ger`), 639-3 or mteb's `eng-Latn`;
`normalise_language` turns any of them into 639-3. A macrolanguage and its individual members are the same language
for matching (`ara` and `arb`, `fas` and `pes`, `swa` and `swh`, `nor` and `nob`, `zho` and `cmn`), in both
directions: `equivalents()` is what every language filter and rule uses.
"""
from __future__ import annotations

import re
from functools import lru_cache

# ISO 639-2/B codes people still write, mapped to 639-3.
_BIBLIOGRAPHIC = {"chi": "zho", "ger": "deu", "fre": "fra", "dut": "nld", "gre": "ell", "per": "fas",
                  "cze": "ces", "slo": "slk", "rum": "ron", "arm": "hye", "geo": "kat", "ice": "isl",
                  "mac": "mkd", "may": "msa", "bur": "mya", "alb": "sqi", "baq": "eus", "wel": "cym", "tib": "bod"}

# ISO 639-3 macrolanguages and the members that embedding-model cards and benchmarks actually use
# (SIL's macrolanguage mappings, https://iso639-3.sil.org/code_tables/macrolanguage_mappings).
MACROLANGUAGES: dict[str, tuple[str, ...]] = {
    "ara": ("arb", "ary", "arz", "apc", "acm", "afb", "apd", "aeb", "acq", "ars", "ayl", "abv", "shu"),
    "fas": ("pes", "prs"),
    "swa": ("swh", "swc"),
    "nor": ("nob", "nno"),
    "zho": ("cmn", "yue", "wuu", "nan", "hak", "gan", "hsn", "cjy", "cdo", "cpx", "czh", "mnp", "lzh"),
    "msa": ("zsm", "ind", "min", "bjn", "mfa", "kxd", "btj", "jax", "meo", "xmm", "zlm"),
    "est": ("ekk", "vro"),
    "lav": ("lvs", "ltg"),
    "uzb": ("uzn", "uzs"),
    "aze": ("azj", "azb"),
    "sqi": ("als", "aln", "aae", "aat"),
    "mon": ("khk", "mvf"),
    "pus": ("pbt", "pbu", "pst"),
    "kur": ("kmr", "ckb", "sdh"),
    "ori": ("ory", "spv"),
    "nep": ("npi", "dty"),
    "mlg": ("plt", "xmv", "tkg", "bhr", "msh", "txy", "bmm", "tdx", "skg", "bzc", "xmw"),
    "orm": ("gaz", "hae", "orc", "gax"),
    "que": ("quz", "quy", "qub", "qvi"),
    "grn": ("gug", "gui", "gun", "nhd"),
    "yid": ("ydd", "yih"),
    "lah": ("pnb", "skr", "hnd"),
    "hbs": ("hrv", "srp", "bos", "cnr"),
    "kon": ("kng", "ldi", "kwy"),
    "aka": ("twi", "fat"),
}
_MEMBER_OF = {member: macro for macro, members in MACROLANGUAGES.items() for member in members}


@lru_cache(maxsize=4096)
def normalise_language(code: str) -> str:
    """Return the ISO 639-3 code for `code`, or raise ValueError naming the bad code."""
    import pycountry

    raw = code.strip()
    base = raw.split("-")[0].split("_")[0].lower()
    if base in _BIBLIOGRAPHIC:
        return _BIBLIOGRAPHIC[base]
    lang = None
    if len(base) == 2:
        lang = pycountry.languages.get(alpha_2=base)
    elif len(base) == 3:
        lang = pycountry.languages.get(alpha_3=base)
    if lang is None:
        raise ValueError(f"unknown language code {code!r}: use ISO 639-1 (en) or ISO 639-3 (eng)")
    return lang.alpha_3


def normalise_languages(codes: list) -> list[str]:
    """ISO 639-3 codes for a list in any accepted form, first occurrence kept; ValueError names a bad code."""
    out: list[str] = []
    for code in codes:
        if not isinstance(code, str):
            raise ValueError(f"language codes are strings, got {code!r}")
        iso3 = normalise_language(code)
        if iso3 not in out:
            out.append(iso3)
    return out


def require_iso639_3(codes: list) -> list[str]:
    """The knowledge base's own check: every code already ISO 639-3 (`eng`, not `en` or `eng-Latn`), no repeats."""
    out: list[str] = []
    for code in codes:
        if not isinstance(code, str) or not re.fullmatch(r"[a-z]{3}", code):
            hint = ""
            if isinstance(code, str):
                try:
                    hint = f" (did you mean {normalise_language(code)!r}?)"
                except ValueError:
                    pass
            raise ValueError(f"language {code!r} is not an ISO 639-3 code{hint}")
        if normalise_language(code) != code:
            raise ValueError(f"language {code!r} is not an ISO 639-3 code (ISO 639-3 writes it "
                             f"{normalise_language(code)!r})")
        if code not in out:
            out.append(code)
    return out


def macrolanguage_of(code: str) -> str | None:
    return _MEMBER_OF.get(code)


def equivalents(code: str) -> set[str]:
    """The codes that count as `code` when matching: itself, its macrolanguage, and a macrolanguage's members."""
    iso = normalise_language(code)
    out = {iso}
    if iso in _MEMBER_OF:
        out.add(_MEMBER_OF[iso])
    out.update(MACROLANGUAGES.get(iso, ()))
    return out


def covers(model_languages: list[str] | set[str], wanted: str) -> bool:
    """Whether a model that lists `model_languages` supports `wanted` (macrolanguage-aware, both ways)."""
    return bool(equivalents(wanted) & set(model_languages))

"""Language codes: the knowledge base stores ISO 639-3; users may write ISO 639-1, 639-3 or mteb's 'eng-Latn'."""
from __future__ import annotations

from functools import lru_cache

# ISO 639-2/B codes people still write, mapped to 639-3.
_BIBLIOGRAPHIC = {"chi": "zho", "ger": "deu", "fre": "fra", "dut": "nld", "gre": "ell", "per": "fas",
                  "cze": "ces", "slo": "slk", "rum": "ron", "arm": "hye", "geo": "kat", "ice": "isl",
                  "mac": "mkd", "may": "msa", "bur": "mya", "alb": "sqi", "baq": "eus", "wel": "cym", "tib": "bod"}


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

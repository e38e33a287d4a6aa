"""How the sync writes values (history, conflicts, SQLite) and reads hub licence tags."""
from __future__ import annotations

import datetime as dt
import json

SOURCE_NOTE = "read from the hub by `embedwise sync` (not curated)"  # on every source the sync writes


def as_text(value: object) -> str | None:
    """How a value is written into history and conflicts: None stays NULL, strings as they are, the rest as JSON."""
    if value is None or isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True)


def db_value(value: object) -> object:
    return int(value) if isinstance(value, bool) else value


def iso(value: dt.datetime | None) -> str | None:
    return value.astimezone(dt.timezone.utc).isoformat(timespec="milliseconds") if value else None


def short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"[:300]


_HUB_LICENSES = {
    "gpl-2.0": "GPL-2.0-only", "gpl-3.0": "GPL-3.0-only", "lgpl-3.0": "LGPL-3.0-only", "agpl-3.0": "AGPL-3.0-only",
    "openrail": "OpenRAIL", "openrail++": "OpenRAIL-M", "creativeml-openrail-m": "CreativeML-OpenRAIL-M",
    "bigscience-openrail-m": "BigScience-OpenRAIL-M", "gemma": "LicenseRef-Gemma", "llama3": "LicenseRef-Llama-3",
    "llama3.1": "LicenseRef-Llama-3.1", "llama3.2": "LicenseRef-Llama-3.2", "other": "LicenseRef-Other",
    "unknown": "LicenseRef-Unknown",
}


def hub_license_to_spdx(tag: str | None) -> str | None:
    """The SPDX (or LicenseRef-) id for a hub licence tag ('apache-2.0' -> 'Apache-2.0'), None when unknown."""
    if not tag:
        return None
    from embedwise.kb.licenses import KNOWN_LICENSES

    tag = tag.strip().lower()
    if tag in _HUB_LICENSES:
        return _HUB_LICENSES[tag]
    for spdx in KNOWN_LICENSES:
        if spdx.lower() == tag:
            return spdx
    return None

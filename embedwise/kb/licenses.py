"""Licence ids the knowledge base accepts (SPDX, plus named model licences) and what they allow."""
from __future__ import annotations

# SPDX ids (and the LicenseRef- ids we use for model licences that have no SPDX id).
PERMISSIVE = {"Apache-2.0", "MIT", "BSD-2-Clause", "BSD-3-Clause", "ISC", "Unlicense", "CC0-1.0", "CC-BY-4.0",
              "CC-BY-3.0", "Zlib", "PostgreSQL", "BSL-1.0", "OpenMDW-1.1"}
COPYLEFT = {"GPL-2.0-only", "GPL-3.0-only", "GPL-3.0-or-later", "LGPL-3.0-only", "AGPL-3.0-only", "MPL-2.0",
            "CC-BY-SA-4.0", "CC-BY-SA-3.0", "OpenRAIL", "OpenRAIL-M", "CreativeML-OpenRAIL-M", "BigScience-OpenRAIL-M"}
NON_COMMERCIAL = {"CC-BY-NC-4.0", "CC-BY-NC-SA-4.0", "CC-BY-NC-ND-4.0", "CC-BY-NC-3.0", "CC-BY-NC-SA-3.0",
                  "LicenseRef-NVIDIA-NC", "LicenseRef-Jina-NC", "LicenseRef-Research-Only"}
# Custom model licences: commercial use allowed with conditions (acceptable-use policies, attribution, user caps).
CUSTOM = {"LicenseRef-Gemma", "LicenseRef-Llama-2", "LicenseRef-Llama-3", "LicenseRef-Llama-3.1",
          "LicenseRef-Llama-3.2", "LicenseRef-NVIDIA-Open-Model", "LicenseRef-Qwen", "LicenseRef-Tongyi-Qianwen",
          "LicenseRef-Meta-DINOv3", "LicenseRef-Apple-Sample-Code", "LicenseRef-Apple-AMLR", "LicenseRef-Other",
          "LicenseRef-Unknown"}
PROPRIETARY = {"proprietary"}

KNOWN_LICENSES = PERMISSIVE | COPYLEFT | NON_COMMERCIAL | CUSTOM | PROPRIETARY


def is_non_commercial(license_id: str) -> bool:
    return license_id in NON_COMMERCIAL


def is_permissive(license_id: str) -> bool:
    """Permissive: use, modify and ship commercially with attribution only (no copyleft, no use policy, no caps)."""
    return license_id in PERMISSIVE


def strictest(*license_ids: str | None) -> str | None:
    """The most restrictive of several licences (a model and its base): non-commercial > unknown > custom > copyleft
    > proprietary > permissive."""
    order = [NON_COMMERCIAL, {"LicenseRef-Unknown", "LicenseRef-Other"}, CUSTOM, COPYLEFT, PROPRIETARY, PERMISSIVE]
    present = [lic for lic in license_ids if lic]
    for group in order:
        for lic in present:
            if lic in group:
                return lic
    return present[0] if present else None

"""The hub listings a run reads: per pipeline tag and library, the recently modified, most downloaded and trending
models."""
from __future__ import annotations

import dataclasses
from typing import Literal

from embedwise.kb.sync.config import SyncConfig


@dataclasses.dataclass(frozen=True)
class Listing:
    kind: Literal["recent", "downloads", "trending"]
    pipeline_tag: str
    library: str | None

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.pipeline_tag}:{self.library or '*'}"

    def kwargs(self, config: SyncConfig) -> dict:
        from embedwise.kb.sync.hub import EXPAND

        kw: dict = {"pipeline_tag": self.pipeline_tag, "expand": list(EXPAND)}
        if self.library:
            kw["filter"] = self.library
        if self.kind == "recent":
            kw["sort"] = "last_modified"
        elif self.kind == "downloads":
            kw["sort"], kw["limit"] = "downloads", config.discover.top_by_downloads
        else:
            kw["sort"], kw["limit"] = "trending_score", config.discover.top_trending
        return kw


def listings(config: SyncConfig) -> list[Listing]:
    d = config.discover
    out = []
    for kind in ("recent", "downloads", "trending"):
        if kind == "downloads" and not d.top_by_downloads or kind == "trending" and not d.top_trending:
            continue
        for tag in d.pipeline_tags:
            for lib in d.libraries or [None]:
                out.append(Listing(kind, tag, lib))
    return out

"""Hub sync timings against the fake hub (tests/sync/fake_hub.py) on 127.0.0.1.

Prints the time for
1. a first sync of N (default 10,000) listed models: every one passes the thresholds and enters as discovered;
2. an incremental run with nothing changed on the hub (goal: under 3 s);
3. an incremental run after 25 models changed.

The knowledge base is the shipped curated one (built into a temporary EMBEDWISE_HOME) when it builds, else a small
set of curated records from the tests. Its models with a hub id are served by the fake hub too; a third of them
with a pipeline tag the sync does not list, so they are read one by one (model_info) on every run.

    python bench/sync.py [--models 10000] [--page-size 1000]
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "sync"))
sys.path.insert(0, str(ROOT))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", type=int, default=10_000)
    ap.add_argument("--page-size", type=int, default=1000)
    args = ap.parse_args()

    home = tempfile.mkdtemp(prefix="embedwise-bench-sync-")
    os.environ["EMBEDWISE_HOME"] = home
    for var in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_TOKEN", "HF_ENDPOINT"):
        os.environ.pop(var, None)

    from fake_hub import FakeHub, make_model

    from embedwise import paths
    from embedwise.kb import store, sync

    kb = paths.kb_path()
    try:
        built = store.build(kb)
        origin = f"shipped curated KB ({built['models']} models)"
    except Exception as exc:  # noqa: BLE001 - the curated YAML may be mid-edit: fall back to the test records
        from sync_helpers import curated_records, make_kb

        kb.unlink(missing_ok=True)
        make_kb(kb, curated_records())
        origin = f"test curated records (the shipped KB did not build: {str(exc).splitlines()[0][:100]})"
    db = store.open_db(kb, build_if_missing=False)
    tracked = [r[0] for r in db.execute("SELECT hf_id FROM models WHERE hf_id IS NOT NULL AND hf_id != ''")]

    hub = FakeHub(page_size=args.page_size, max_page=args.page_size).start()
    tags = ["sentence-similarity", "feature-extraction"]
    for i in range(args.models):
        day, sec = divmod(i, 86_400)
        stamp = f"2025-{1 + day // 28:02d}-{1 + day % 28:02d}T{sec // 3600:02d}:{sec // 60 % 60:02d}:{sec % 60:02d}.000Z"
        hub.add(make_model(f"org{i % 97}/embedder-{i}", downloads=100 + (i * 7919) % 1_000_000, likes=i % 300,
                           pipeline_tag=tags[i % 2], last_modified=stamp, trending=(i * 31) % 1000 / 10,
                           languages=("en", "de") if i % 5 == 0 else ("en",)))
    for n, hf_id in enumerate(tracked):  # the curated models exist on the hub too; a third are not in the listings
        hub.add(make_model(hf_id, downloads=1_000_000, likes=500, last_modified="2024-12-01T00:00:00.000Z",
                           pipeline_tag=["sentence-similarity", "feature-extraction", "image-text-to-text"][n % 3]))

    cfg = sync.SyncConfig.model_validate({"discover": {"min_downloads": 0, "trending_min_likes": 0,
                                                       "max_new_per_run": args.models + 1}})
    print(f"knowledge base: {origin}; {len(tracked)} curated models with a hub id")
    print(f"fake hub: {args.models:,} listed models, pages of {args.page_size}, {hub.url}")

    def timed(label: str) -> None:
        hub.log.clear()
        t = time.perf_counter()
        s = sync.run(cfg, db=db, endpoint=hub.url)
        took = time.perf_counter() - t
        print(f"{label:<34} {took:7.2f} s  status={s.status} requests={len(hub.log)} seen={s.models_seen} "
              f"discovered={s.discovered} changes={s.changes}")
        assert s.status == "ok", sync.format_summary(s)

    timed("first sync")
    timed("incremental, nothing changed")
    for i in range(0, 25 * 13, 13):
        hub.update(f"org{i % 97}/embedder-{i}", downloads=7, likes=1)
    timed("incremental, 25 models changed")
    hub.stop()
    db.close()
    print(f"(knowledge base left in {home})")


if __name__ == "__main__":
    main()

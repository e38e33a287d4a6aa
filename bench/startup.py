"""Start-up of whole `embedwise` processes beside `python -c pass` and `sqlite3` on the same query, in the same run.

Goals (first-hour issue): `embedwise --help` <= 0.2 s, `embedwise kb query` <= 0.3 s, `embedwise recommend` <= 0.6 s.
Medians of five runs after a warm-up; prints figures, asserts nothing (shared machines are noisy).

    python bench/startup.py [--runs 5]
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EMBEDWISE = str(Path(sys.executable).with_name("embedwise"))


def median_seconds(cmd: list[str], env: dict, runs: int) -> float:
    subprocess.run(cmd, env=env, capture_output=True, check=False)  # warm-up: page cache, .pyc files
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        subprocess.run(cmd, env=env, capture_output=True, check=False)
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    home = Path(tempfile.mkdtemp(prefix="embedwise-startup-"))
    env = {**os.environ, "EMBEDWISE_HOME": str(home)}
    subprocess.run([EMBEDWISE, "kb", "build"], env=env, capture_output=True, check=True)
    kb = home / "kb.sqlite"
    rows = [
        ("python -c pass", [sys.executable, "-c", "pass"], None),
        ("sqlite3, the same query", ["sqlite3", str(kb), "SELECT id FROM models WHERE modality = 'text' "
                                     "ORDER BY mteb_mean DESC LIMIT 5"] if shutil.which("sqlite3") else None, None),
        ("embedwise --help", [EMBEDWISE, "--help"], 0.2),
        ("embedwise kb query 'modality=text limit=5'", [EMBEDWISE, "kb", "query", "modality=text limit=5"], 0.3),
        ("embedwise recommend (examples/requirements.yaml)",
         [EMBEDWISE, "recommend", "--requirements", str(ROOT / "examples" / "requirements.yaml")], 0.6),
    ]
    print(f"{'command':<52} {'median s':>9} {'goal s':>7}")
    for label, cmd, goal in rows:
        if cmd is None:
            print(f"{label:<52} {'n/a':>9}")
            continue
        s = median_seconds(cmd, env, args.runs)
        print(f"{label:<52} {s:9.3f} {goal if goal else '':>7}")
    shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()

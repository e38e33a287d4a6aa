"""`embedwise sync`: take the lock, set up the log, run, print the summary."""
from __future__ import annotations

import contextlib
import logging
import sys
from typing import Any

from embedwise import paths
from embedwise.errors import SyncError
from embedwise.kb.sync.config import load_config, lock_path
from embedwise.kb.sync.runner import run
from embedwise.kb.sync.summary import format_summary

LOG_FILE = "sync.log"


def command(endpoint: str | None = None, nightly: bool = False, discover: bool | None = None,
            json_out: bool = False) -> int:
    """`embedwise sync`: lock, log, run, print the summary. Returns the exit code (0 only when the run is ok)."""
    import signal

    from filelock import FileLock, Timeout

    config = load_config()
    logger = logging.getLogger("embedwise.sync")
    if nightly:
        from logging.handlers import RotatingFileHandler

        handler: logging.Handler = RotatingFileHandler(paths.logs_dir() / LOG_FILE, maxBytes=5_000_000,
                                                       backupCount=5, encoding="utf-8")
        handler.setLevel(logging.INFO)
    else:
        handler = logging.StreamHandler(sys.stderr)
        handler.setLevel(logging.WARNING)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    old_level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    lock = FileLock(str(lock_path()))
    old_term = None
    try:
        try:
            lock.acquire(timeout=0)
        except Timeout:
            logger.error("another sync holds %s; this run did nothing", lock.lock_file)
            raise SyncError(f"another `embedwise sync` is running (lock {lock.lock_file} is held); "
                            "wait for it to finish") from None
        try:
            if nightly:
                with contextlib.suppress(ValueError):  # not in the main thread: leave signals alone
                    old_term = signal.signal(signal.SIGTERM, _raise_interrupt)
            summary = run(config, endpoint=endpoint, discover=discover)
        finally:
            if old_term is not None:
                signal.signal(signal.SIGTERM, old_term)
            lock.release()
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)
        handler.close()
    if json_out:
        sys.stdout.write(summary.model_dump_json(indent=2) + "\n")
    else:
        sys.stdout.write(format_summary(summary) + "\n")
    if summary.status != "ok":  # for cron's mail and the journal
        where = f"; log: {paths.logs_dir() / LOG_FILE}" if nightly else ""
        sys.stderr.write(f"embedwise sync {summary.run_id}: {summary.status}: {summary.error}{where}\n")
    return 0 if summary.status == "ok" else 1


def _raise_interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt

"""The sync's writes: the changes collected for one batch of models, applied in one transaction."""
from __future__ import annotations

import contextlib
import sqlite3
from typing import Iterator

from embedwise.kb.sync.values import db_value


class Batch:
    """Writes collected for one batch; `write` applies them in one transaction."""

    def __init__(self) -> None:
        self.new_models: list[dict] = []
        self.updates: dict[str, dict] = {}
        self.sources: list[tuple] = []
        self.languages: dict[str, list[str]] = {}
        self.domains: dict[str, list[str]] = {}
        self.hub_facts: dict[str, dict] = {}
        self.resolve: list[tuple[str, str]] = []
        self.conflicts: list[tuple] = []
        self.history: list[tuple] = []

    def __len__(self) -> int:
        return len(self.hub_facts) + len(self.new_models)

    def write(self, conn: sqlite3.Connection, state: dict[str, str] | None = None) -> bool:
        """Apply the batch (and `state`, sync_state rows) in one transaction; False when there was nothing to write."""
        if not len(self) and not self.history and not state:
            return False
        with transaction(conn):
            if self.new_models:
                cols = list(self.new_models[0])
                marks = ", ".join("?" * len(cols))
                conn.executemany(f"INSERT OR IGNORE INTO models ({', '.join(cols)}) VALUES ({marks})",
                                 [[db_value(r[c]) for c in cols] for r in self.new_models])
            for mid, cols in self.updates.items():
                conn.execute(f"UPDATE models SET {', '.join(f'{c} = ?' for c in cols)} WHERE id = ?",
                             [*cols.values(), mid])
            conn.executemany("INSERT OR REPLACE INTO sources (model_id, field, ref, date, note) VALUES (?, ?, ?, ?, ?)",
                             self.sources)
            for table, col, values in (("model_languages", "language", self.languages),
                                       ("model_domains", "domain", self.domains)):
                for mid, items in values.items():
                    conn.execute(f"DELETE FROM {table} WHERE model_id = ?", [mid])
                    conn.executemany(f"INSERT OR IGNORE INTO {table} (model_id, {col}) VALUES (?, ?)",
                                     [(mid, v) for v in dict.fromkeys(items)])
            if self.hub_facts:
                cols = list(next(iter(self.hub_facts.values())))
                conn.executemany(
                    f"INSERT OR REPLACE INTO hub_facts ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})",
                    [[r[c] for c in cols] for r in self.hub_facts.values()])
            conn.executemany("UPDATE conflicts SET resolved = 1 WHERE model_id = ? AND field = ? "
                             "AND coalesce(resolved, 0) = 0", self.resolve)
            conn.executemany("INSERT INTO conflicts (model_id, field, curated, hub, at, run_id, resolved) "
                             "VALUES (?, ?, ?, ?, ?, ?, ?)", self.conflicts)
            conn.executemany("INSERT INTO history (model_id, field, old, new, at, run_id) VALUES (?, ?, ?, ?, ?, ?)",
                             self.history)
            if state:
                conn.executemany("INSERT OR REPLACE INTO sync_state (key, value) VALUES (?, ?)", list(state.items()))
        return True


@contextlib.contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[None]:
    if conn.in_transaction:
        conn.commit()
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        conn.rollback()
        raise
    conn.commit()

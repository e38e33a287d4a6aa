"""The knowledge base: schema, curated data, SQLite store, query language, hub sync."""
import sys


def _import_sqlite_utils_without_numpy() -> None:
    """sqlite-utils imports numpy and pandas at import time only to map their scalar types for inserts; the
    knowledge base never stores numpy values (runs are written as JSON), and those imports cost ~100 ms of every
    command's start-up. Import it once with them hidden, unless something has imported numpy already."""
    if "sqlite_utils" in sys.modules or "numpy" in sys.modules:
        return
    hidden = {name: sys.modules.get(name) for name in ("numpy", "pandas")}
    for name in hidden:
        sys.modules[name] = None  # type: ignore[assignment]  # makes `import numpy` raise ImportError
    try:
        import sqlite_utils  # noqa: F401
    finally:
        for name, module in hidden.items():
            if module is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = module


_import_sqlite_utils_without_numpy()

"""One exception family. Every message says what is wrong, where, and what to do; the CLI prints it and exits 2."""
from __future__ import annotations


class EmbedwiseError(Exception):
    """Base class. `exit_code` is what the CLI exits with."""

    exit_code = 2


class BadInput(EmbedwiseError):
    """The user's input (a file, an argument, an expression) is wrong. `where` is file:line or a field path."""

    def __init__(self, message: str, where: str | None = None):
        self.where = where
        super().__init__(f"{where}: {message}" if where else message)


class CuratedDataError(BadInput):
    """A curated YAML file is invalid; the knowledge base was not changed."""


class QueryError(BadInput):
    """A `kb query` expression is malformed; `position` is the offset of the bad token."""

    def __init__(self, message: str, expression: str, position: int):
        self.expression = expression
        self.position = position
        pointer = " " * position + "^"
        super().__init__(f"{message}\n  {expression}\n  {pointer}")


class NotFound(EmbedwiseError):
    """An id the knowledge base does not hold: bad input, exit 2."""


class SyncError(EmbedwiseError):
    exit_code = 1


class ModelRunError(EmbedwiseError):
    """A model failed to load or run; the validators report it and go on with the others."""

    exit_code = 1

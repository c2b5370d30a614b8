"""Domain errors, and the one place driver errors become them.

The queue functions raise custom SQLSTATEs (documented in the first migration); constraint
violations name the constraint. Callers catch these classes, never psycopg's.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from psycopg import errors as pg_errors


class DomainError(Exception):
    """Something the caller asked for was refused, with a message meant for people."""


class LeaseLost(DomainError):
    """The lease token is not the job's current one: nothing was changed."""


class InvalidTransition(DomainError):
    """The row is not in a state that allows this call: nothing was changed."""


class NotFound(DomainError):
    """The job, order or directory does not exist."""


class BusinessIncomplete(DomainError):
    """The business info lacks required fields; `missing_fields` names them in form order."""

    def __init__(self, message: str, missing_fields: list[str]) -> None:
        super().__init__(message)
        self.missing_fields = missing_fields


class InvalidArgument(DomainError):
    """An argument or a stored value broke a rule; the message names the field or rule, and
    `constraint` the constraint that refused it, if one is named (a table's, or a function's
    RAISE … USING CONSTRAINT), so callers map it to a field without reading the message."""

    def __init__(self, message: str, constraint: str | None = None) -> None:
        super().__init__(message)
        self.constraint = constraint


class Conflict(DomainError):
    """A uniqueness rule was broken (e.g. a second job for one order)."""


class DatabaseUnavailable(DomainError):
    """The database cannot be reached; the caller should retry later."""


_BY_SQLSTATE: dict[str, type[DomainError]] = {
    "DB001": LeaseLost,
    "DB002": InvalidTransition,
    "DB003": NotFound,
}


def _message(error: psycopg.Error) -> str:
    diag = error.diag
    return diag.message_primary or str(error).strip()


def to_domain_error(error: psycopg.Error) -> DomainError | None:
    """The domain error for a driver error, or None when it is a programming error."""
    sqlstate = error.sqlstate or ""
    if sqlstate in _BY_SQLSTATE:
        return _BY_SQLSTATE[sqlstate](_message(error))
    if sqlstate == "DB005":
        # A function's refusal may name the rule it applied (RAISE … USING CONSTRAINT).
        return InvalidArgument(_message(error), error.diag.constraint_name)
    if sqlstate == "DB004":
        missing = [f for f in (error.diag.message_detail or "").split(",") if f]
        return BusinessIncomplete(_message(error), missing)
    if isinstance(
        error,
        pg_errors.CheckViolation
        | pg_errors.NotNullViolation
        | pg_errors.ForeignKeyViolation
        | pg_errors.InvalidTextRepresentation
        | pg_errors.InvalidParameterValue
        | pg_errors.NumericValueOutOfRange
        | pg_errors.StringDataRightTruncation,
    ):
        constraint = error.diag.constraint_name
        suffix = f" (constraint {constraint})" if constraint else ""
        return InvalidArgument(_message(error) + suffix, constraint)
    if isinstance(error, psycopg.DataError):
        # Values the database cannot store (a NUL byte, an out-of-range number…).
        return InvalidArgument(_message(error))
    if isinstance(error, pg_errors.UniqueViolation):
        return Conflict(_message(error))
    if isinstance(error, psycopg.OperationalError | pg_errors.AdminShutdown):
        return DatabaseUnavailable(_message(error))
    return None


@contextmanager
def translate_errors() -> Iterator[None]:
    """Re-raise driver errors as domain errors; let programming errors through untouched."""
    try:
        yield
    except psycopg.Error as error:
        domain = to_domain_error(error)
        if domain is None:
            raise
        raise domain from error

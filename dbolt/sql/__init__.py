"""The SQL gateway: named queries from .sql files, keyword parameters, domain errors."""

from dbolt.sql.errors import (
    BusinessIncomplete,
    Conflict,
    DatabaseUnavailable,
    DomainError,
    InvalidArgument,
    InvalidTransition,
    LeaseLost,
    NotFound,
    translate_errors,
)
from dbolt.sql.gateway import Queries, load_queries

__all__ = [
    "BusinessIncomplete",
    "Conflict",
    "DatabaseUnavailable",
    "DomainError",
    "InvalidArgument",
    "InvalidTransition",
    "LeaseLost",
    "NotFound",
    "Queries",
    "load_queries",
    "translate_errors",
]

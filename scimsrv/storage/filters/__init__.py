"""SCIM filters and sortBy (RFC 7644 §3.4.2.2-§3.4.2.3) as SQL expressions.

scim2-models parses the filter and resolves each attribute path against the
resource schema (names are case-insensitive, RFC 7643 §2.1); this package
turns the tree into one SQLAlchemy boolean expression over the ``scim_user``
or ``scim_group`` row (:mod:`.translate`). Attributes held in columns use
those columns (and the tenant-leading indexes); the rest are read from the
JSON ``doc``; memberships (``members``, ``groups``) are ``EXISTS`` over
``group_member`` (:mod:`.scopes`, :mod:`.resources`).
"""

from scimsrv.storage.filters.dialect import prepare_connection
from scimsrv.storage.filters.operands import DATETIME, STRING
from scimsrv.storage.filters.resources import GROUPS, USERS, ResourceSpec
from scimsrv.storage.filters.sorting import ASCENDING, DESCENDING, SortKey, sort_key
from scimsrv.storage.filters.translate import filter_clause, parse_datetime, parse_filter

__all__ = [
    "ASCENDING",
    "DATETIME",
    "DESCENDING",
    "GROUPS",
    "STRING",
    "USERS",
    "ResourceSpec",
    "SortKey",
    "filter_clause",
    "parse_datetime",
    "parse_filter",
    "prepare_connection",
    "sort_key",
]

"""Outcomes of a use case that are not the domain's or the protocol's errors:
the caller is not allowed, or the database is too busy to answer now."""

from __future__ import annotations


class Unauthorized(Exception):
    """The credential is missing, wrong, revoked or another tenant's."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class Busy(Exception):
    """A lock or connection wait ran out, or retries did: try again later."""

    def __init__(self, detail: str, retry_after: int) -> None:
        super().__init__(detail)
        self.detail = detail
        self.retry_after = retry_after

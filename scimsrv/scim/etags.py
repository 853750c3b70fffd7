"""Resource versions as ETags (RFC 7644 §3.14, RFC 7232): If-Match on writes,
If-None-Match on reads, weak comparison."""

from __future__ import annotations

from scimsrv.scim.errors import ScimError


def _opaque(tag: str) -> str:
    tag = tag.strip()
    return tag[2:] if tag.startswith("W/") else tag


def etag_matches(header: str, version: str | None) -> bool:
    """Weak comparison of an If-Match / If-None-Match list against ``version``."""
    if version is None:
        return False
    tags = [part.strip() for part in header.split(",") if part.strip()]
    return "*" in tags or any(_opaque(tag) == _opaque(version) for tag in tags)


def check_if_match(if_match: str | None, version: str) -> None:
    """412 when the client's copy is stale (RFC 7644 §3.14, RFC 7232 §3.1)."""
    if if_match is not None and not etag_matches(if_match, version):
        raise ScimError(
            412,
            f"If-Match {if_match} does not match the current version {version}: "
            "the resource changed since it was read",
        )

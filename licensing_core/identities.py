"""Who an associate is, as the license history records it: the userName and
the identity provider's id (the SCIM id) at the moment of a change.

Ledger and plan-state log rows carry these by value next to the associate
id, so a history stays readable after the user is deleted and two people can
never be merged under one id. The caller that knows the directory (scimsrv)
passes its own :data:`Identify`; :func:`associate_identities` is the
fallback for associates without one (the login name, no directory id).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from licensing_core.tables import Associate


@dataclass(frozen=True)
class Identity:
    """An associate's userName and directory id (None when it has none)."""

    user_name: str
    scim_id: str | None = None


# associate ids (of the book's tenant) -> identity of each one found.
Identify = Callable[[Sequence[int]], Mapping[int, Identity]]


def associate_identities(
    session: Session, tenant_id: str, associate_ids: Sequence[int]
) -> dict[int, Identity]:
    """Identities from the associate rows: the login name, no directory id."""
    rows = session.connection().execute(
        select(Associate.id, Associate.name).where(
            Associate.tenant_id == tenant_id, Associate.id.in_(list(associate_ids))
        )
    )
    return {assoc_id: Identity(name) for assoc_id, name in rows}

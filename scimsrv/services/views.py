"""Resources as the use cases hand them to the edge: the stored record, what is
derived for it (a user's groups and plans, a group's members) and its version."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from licensing_core.holdings import PlanView
from scimsrv.scim.documents import group_body, licensing_extension, user_body, weak_etag


@dataclass(frozen=True)
class UserView:
    """A user; ``groups`` None when the response leaves them out (not read)."""

    record: Any
    groups: list[dict] | None
    plan: PlanView

    @property
    def id(self) -> str:
        return self.record.id

    @property
    def version(self) -> str:
        """The ETag: the user's version and its plan state's (RFC 7644 §3.14)."""
        return weak_etag(self.record.version, self.plan.version)

    @property
    def last_modified(self) -> datetime:
        plan = self.plan.updated
        modified = self.record.last_modified
        return plan if plan is not None and plan > modified else modified

    def body(self) -> dict[str, Any]:
        return user_body(
            self.record,
            self.groups,
            licensing_extension(self.plan),
            self.version,
            self.last_modified,
        )


@dataclass(frozen=True)
class GroupView:
    """A group; ``members`` None when the response leaves them out (not read)."""

    record: Any
    members: list[dict] | None = None

    @property
    def id(self) -> str:
        return self.record.id

    @property
    def version(self) -> str:
        return weak_etag(self.record.version)

    def body(self) -> dict[str, Any]:
        return group_body(self.record, self.members)

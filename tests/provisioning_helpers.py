"""A directory driven through the use cases (:mod:`scimsrv.services`), as the
endpoints drive them, with the tenant's consistency checked after each change."""

from __future__ import annotations

from datetime import datetime, timedelta

from licensing_core.holdings import read_holdings
from scimsrv.scim.schemas import GroupResource, UserResource
from scimsrv.services import groups, tenants, users
from scimsrv.storage import users as user_rows
from tests.licensing_helpers import NOW, make_tenant
from tests.use_cases import group_resource, patch_op, run, user_resource


class Directory:
    def __init__(self, db, tenant_id: str, seats=2, unrestricted=False, at=NOW) -> None:
        """A tenant registered ``at`` (its clock starts there) with ``seats`` per plan."""
        self.db = db
        self.tenant_id = tenant_id
        self.clock = at
        make_tenant(db, tenant_id, seats=seats, unrestricted=unrestricted, at=at)

    def change(self, work):
        """Run one use case a second after the previous one; the tenant stays consistent."""
        self.clock += timedelta(seconds=1)
        result = run(self.db, work, self.tenant_id, at=self.clock)
        assert self.problems() == []
        return result

    def problems(self) -> list[str]:
        return run(self.db, tenants.check, self.tenant_id, at=self.clock, write=False)

    def create_user(self, name: str, active: bool = True, roles=()) -> str:
        body = {"userName": name, "active": active}
        if roles:
            body["roles"] = [{"value": r} for r in roles]
        return self.change(lambda tx: users.create_user(tx, user_resource(body))).id

    def set_active(self, user_id: str, active: bool) -> None:
        operation = {"op": "replace", "path": "active", "value": active}
        self.change(
            lambda tx: users.patch_user(tx, user_id, patch_op(UserResource, operation), None)
        )

    def delete_user(self, user_id: str) -> None:
        self.change(lambda tx: users.delete_user(tx, user_id, None))

    def create_group(self, name: str, members=(), external_id=None) -> str:
        body = {"displayName": name, "members": [{"value": m} for m in members]}
        if external_id:
            body["externalId"] = external_id
        return self.change(lambda tx: groups.create_group(tx, group_resource(body))).id

    def _members(self, group_id: str, op: str, user_ids) -> None:
        operation = {"op": op, "path": "members", "value": [{"value": u} for u in user_ids]}
        patch = patch_op(GroupResource, operation)
        self.change(lambda tx: groups.patch_group(tx, group_id, patch, None))

    def add(self, group_id: str, *user_ids: str) -> None:
        self._members(group_id, "add", user_ids)

    def remove(self, group_id: str, *user_ids: str) -> None:
        self._members(group_id, "remove", user_ids)

    def rename(self, group_id: str, name: str) -> None:
        patch = patch_op(GroupResource, {"op": "replace", "path": "displayName", "value": name})
        self.change(lambda tx: groups.patch_group(tx, group_id, patch, None))

    def delete_group(self, group_id: str) -> None:
        self.change(lambda tx: groups.delete_group(tx, group_id, None))

    def state(self, user_id: str) -> tuple[str, str, str]:
        def read(tx):
            record = user_rows.read_user(tx.session, tx.tenant_id, user_id)
            holding = read_holdings(tx.session, tx.tenant_id, [record.associate_id])
            return holding[record.associate_id]

        holding = run(self.db, read, self.tenant_id, write=False)
        return holding.state, holding.granted, holding.reason


def at(minutes: int) -> datetime:
    return NOW + timedelta(minutes=minutes)

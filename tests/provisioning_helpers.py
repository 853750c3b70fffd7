"""A directory driven through the SCIM store plus the provisioner, as the
endpoints drive it, with the tenant's consistency checked after each change."""

from __future__ import annotations

from contextlib import contextmanager
from datetime import datetime, timedelta

from sqlalchemy import select

from licensing_core.tables import AssociatePlan
from scimsrv.provisioning.consistency import check_tenant
from scimsrv.provisioning.recompute import Provisioner
from scimsrv.storage import groups as group_store
from scimsrv.storage import users as user_store
from scimsrv.storage.tables import ScimUser
from tests.licensing_helpers import NOW, make_tenant


class Directory:
    def __init__(self, db, tenant_id: str, seats=2, unrestricted=False) -> None:
        self.db = db
        self.tenant_id = tenant_id
        self.clock = NOW
        make_tenant(db, tenant_id, seats=seats, unrestricted=unrestricted)

    @contextmanager
    def change(self, cause: str):
        self.clock += timedelta(seconds=1)
        with self.db.write() as session:
            provisioner = Provisioner(session, self.tenant_id, at=self.clock, cause=cause)
            yield session, provisioner
            provisioner.finish()
        assert self.problems() == []

    def problems(self) -> list[str]:
        with self.db.write() as session:
            return check_tenant(session, self.tenant_id)

    def create_user(self, name: str, active: bool = True, roles=()) -> str:
        body = {"userName": name, "active": active}
        if roles:
            body["roles"] = [{"value": r} for r in roles]
        with self.change("user created") as (session, prov):
            user = user_store.create_user(session, self.tenant_id, body, now=self.clock)
            prov.users_changed([user.id])
            return user.id

    def set_active(self, user_id: str, active: bool) -> None:
        with self.change("user active changed") as (session, prov):
            user = user_store.get_user(session, self.tenant_id, user_id)
            body = {"userName": user.user_name, "active": active}
            user_store.replace_user(session, self.tenant_id, user_id, body, now=self.clock)
            prov.users_changed([user_id])

    def delete_user(self, user_id: str) -> None:
        with self.change("user deleted") as (session, prov):
            user_store.delete_user(
                session,
                self.tenant_id,
                user_id,
                release_licenses=lambda _s, assoc_id: prov.user_deleted(assoc_id),
            )

    def create_group(self, name: str, members=(), external_id=None) -> str:
        body = {"displayName": name, "members": [{"value": m} for m in members]}
        if external_id:
            body["externalId"] = external_id
        with self.change("group created") as (session, prov):
            change = group_store.create_group(session, self.tenant_id, body, now=self.clock)
            prov.users_changed(change.changed_user_ids)
            return change.group.id

    def add(self, group_id: str, *user_ids: str) -> None:
        with self.change("member added") as (session, prov):
            added = group_store.add_members(session, self.tenant_id, group_id, user_ids)
            prov.users_changed(added)

    def remove(self, group_id: str, *user_ids: str) -> None:
        with self.change("member removed") as (session, prov):
            removed = group_store.remove_members(session, self.tenant_id, group_id, user_ids)
            prov.users_changed(removed)

    def rename(self, group_id: str, name: str) -> None:
        with self.change("group renamed") as (session, prov):
            group_store.replace_group(
                session, self.tenant_id, group_id, {"displayName": name}, keep_members=True
            )
            prov.group_changed(group_id)

    def delete_group(self, group_id: str) -> None:
        with self.change("group deleted") as (session, prov):
            members = group_store.delete_group(session, self.tenant_id, group_id)
            prov.users_changed(members)

    def state(self, user_id: str) -> tuple[str, str, str]:
        with self.db.read() as session:
            assoc_id = session.execute(
                select(ScimUser.associate_id).where(
                    ScimUser.tenant_id == self.tenant_id, ScimUser.id == user_id
                )
            ).scalar_one()
            row = session.get(AssociatePlan, (self.tenant_id, assoc_id))
            return (row.state, row.granted, row.reason) if row else ("none", "", "")


def at(minutes: int) -> datetime:
    return NOW + timedelta(minutes=minutes)

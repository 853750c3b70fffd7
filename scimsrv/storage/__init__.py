"""SCIM storage: Users and Groups in the database, filters and pages in SQL.

Every function takes a Session already inside the caller's transaction and a
tenant id, and never commits.
"""

from scimsrv.storage.groups import (
    GroupChange,
    add_members,
    create_group,
    delete_group,
    find_group,
    get_group,
    group_to_resource,
    is_member,
    list_groups,
    list_members,
    member_ids_of,
    members_of,
    remove_members,
    replace_group,
    replace_members,
)
from scimsrv.storage.listing import ListRequest, Page
from scimsrv.storage.rows import weak_etag
from scimsrv.storage.users import (
    create_user,
    delete_user,
    find_user,
    get_user,
    list_users,
    replace_user,
    user_groups,
    user_to_resource,
)

__all__ = [
    "GroupChange",
    "ListRequest",
    "Page",
    "add_members",
    "create_group",
    "create_user",
    "delete_group",
    "delete_user",
    "find_group",
    "find_user",
    "get_group",
    "get_user",
    "group_to_resource",
    "is_member",
    "list_groups",
    "list_members",
    "list_users",
    "member_ids_of",
    "members_of",
    "remove_members",
    "replace_group",
    "replace_members",
    "replace_user",
    "user_groups",
    "user_to_resource",
    "weak_etag",
]

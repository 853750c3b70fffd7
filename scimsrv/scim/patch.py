"""PATCH (RFC 7644 §3.5.2) in the dialects Entra ID and Okta speak.

scim2-models parses and applies the operations under :data:`POLICY`, which
already accepts capitalised ops, booleans as strings, ``Add`` on a set value,
no-path replaces with dotted keys, a ``Remove`` whose value lists members and
adds to filtered paths that create their entry. This module adds what the
library leaves to the service: the manager sent as a plain id, and, for
Groups, taking every ``members`` operation out of the patch so that it runs
as SQL on membership rows and never loads the member list (docs/architecture.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from scim2_models import Context, PatchOp, PatchOperation, Path
from scim2_models.path import CompareOperator, Comparison, LogicalExpr, LogicalOperator

from scimsrv.scim.documents import member_ids
from scimsrv.scim.errors import ScimError
from scimsrv.scim.parsing import MODEL_ERRORS, manager_as_object, require_object, scim_error
from scimsrv.scim.schemas import POLICY, GroupResource
from scimsrv.scim.urns import ENTERPRISE_SCHEMA, LICENSING_SCHEMA

_MANAGER_PATH = f"{ENTERPRISE_SCHEMA}:manager".lower()
# Operations one PATCH may hold: as many as a /Bulk request (docs/limits.md).
MAX_PATCH_OPERATIONS = 1000


def _with_manager_object(value: Any) -> Any:
    if isinstance(value, dict) and "manager" in value:
        return {**value, "manager": manager_as_object(value["manager"])}
    return value


def _normalized_entry(key: str, item: Any) -> Any:
    if key.lower() == _MANAGER_PATH:
        return manager_as_object(item)
    if key.lower() == ENTERPRISE_SCHEMA.lower():
        return _with_manager_object(item)
    return item


def _normalized_operation(raw: Any) -> Any:
    """The operation with a plain-string manager turned into ``{"value": id}``."""
    if not isinstance(raw, dict):
        return raw
    operation = dict(raw)
    path = operation.get("path")
    target = path.lower() if isinstance(path, str) else ""
    value = operation.get("value")
    if target == _MANAGER_PATH:
        operation["value"] = manager_as_object(value)
    elif target == ENTERPRISE_SCHEMA.lower():
        operation["value"] = _with_manager_object(value)
    elif not target and isinstance(value, dict):
        operation["value"] = {key: _normalized_entry(str(key), item) for key, item in value.items()}
    return operation


def parse_patch(body: Any, model: type) -> PatchOp:
    """The PatchOp request body validated against ``model`` (400 with its
    scimType; ``invalidValue`` past :data:`MAX_PATCH_OPERATIONS` operations)."""
    payload = dict(require_object(body, "PATCH body"))
    for key in list(payload):
        if key.lower() == "operations" and isinstance(payload[key], list):
            if len(payload[key]) > MAX_PATCH_OPERATIONS:
                raise ScimError(
                    400,
                    f"a PATCH holds at most {MAX_PATCH_OPERATIONS} operations "
                    f"({len(payload[key])} sent)",
                    "invalidValue",
                )
            payload[key] = [_normalized_operation(op) for op in payload[key]]
    try:
        patch = PatchOp[model].model_validate(
            payload, scim_ctx=Context.RESOURCE_PATCH_REQUEST, scim_policy=POLICY
        )
    except MODEL_ERRORS as exc:
        raise scim_error(exc) from exc
    _refuse_read_only_targets(patch)
    return patch


def _refuse_read_only_targets(patch: PatchOp) -> None:
    """RFC 7644 §3.5.2: an operation aimed at a readOnly attribute is an error
    (400 ``mutability``), not silently ignored. The licensing extension is
    computed by the server, so every path into it is read-only."""
    for operation in patch.operations or []:
        target = str(operation.path or "")
        if target.lower().startswith(LICENSING_SCHEMA.lower()):
            raise ScimError(
                400,
                f"'{target}' is read-only: the licensing extension is computed from "
                "groups, roles and rules",
                "mutability",
            )


def may_touch(patch: PatchOp, attributes: tuple[str, ...]) -> bool:
    """Whether an operation of ``patch`` may change one of ``attributes`` (core
    attribute names, any case): it names one in its path, with or without the
    schema URN, or has no path (its value may hold any attribute)."""
    wanted = {name.lower() for name in attributes}
    for operation in patch.operations or []:
        if operation.path is None:
            return True
        target = str(operation.path).lower().rsplit(":", 1)[-1]
        if target.split("[", 1)[0].split(".", 1)[0] in wanted:
            return True
    return False


def apply_patch(patch: PatchOp, resource: Any) -> bool:
    """Apply every operation or none (the resource is restored on failure).

    :raises ScimError: 400 naming the path of the operation that failed.
    """
    if not patch.operations:
        return False
    try:
        return patch.patch(resource, scim_policy=POLICY)
    except MODEL_ERRORS as exc:
        raise scim_error(exc, _failing_path(patch, resource)) from exc


def _failing_path(patch: PatchOp, resource: Any) -> str | None:
    """The path of the operation a failed ``patch`` stopped at, found by applying
    its operations again one by one to a copy of the restored ``resource``: a
    value's error names its attribute only relative to that path."""
    probe = resource.model_copy(deep=True)
    for operation in patch.operations or []:
        alone = type(patch).model_construct(schemas=list(patch.schemas), operations=[operation])
        try:
            alone.patch(probe, scim_policy=POLICY)
        except MODEL_ERRORS:
            return str(operation.path) if operation.path is not None else None
    return None


@dataclass(frozen=True)
class MemberChange:
    """One membership operation on ``ids`` (user id -> the ``display`` sent, if any);
    ``ids`` None on a remove means every member."""

    op: Literal["add", "remove", "replace"]
    ids: dict[str, str | None] | None


@dataclass
class GroupPatch:
    """A group PATCH split in two: attribute operations applied to the loaded
    group, and membership changes applied as SQL, both in one transaction."""

    attributes: PatchOp
    members: list[MemberChange] = field(default_factory=list)

    @property
    def touches_attributes(self) -> bool:
        return bool(self.attributes.operations)


def _filtered_ids(node: Any) -> tuple[str, ...]:
    """The ids a ``members[value eq "a" or value eq "b"]`` filter selects."""
    if isinstance(node, LogicalExpr) and node.op == LogicalOperator.or_:
        return tuple(dict.fromkeys(i for term in node.terms for i in _filtered_ids(term)))
    if (
        isinstance(node, Comparison)
        and node.op == CompareOperator.eq
        and node.attr_path.attr.lower() == "value"
        and node.attr_path.sub_attr is None
        and isinstance(node.value, str)
    ):
        return (node.value,)
    raise ScimError(
        400,
        f"unsupported members filter '{node}': use value eq \"<id>\" joined by or",
        "invalidFilter",
    )


def _is_members(path: Path) -> bool:
    binding = path.resolve() if path.model is None else None
    return binding is not None and binding.field_name == "members"


def _member_change(operation: PatchOperation) -> MemberChange:
    path = operation.path
    op = operation.op.value
    binding = path.resolve()
    if binding.sub_field_name is not None:
        raise ScimError(
            400,
            f"'{path}': member sub-attributes come from the users; patch members by value",
            "invalidPath",
        )
    if path.value_filter is not None:
        if op != "remove":
            raise ScimError(
                400, f"'{path}': a members filter only selects what to remove", "invalidPath"
            )
        return MemberChange("remove", dict.fromkeys(_filtered_ids(path.value_filter)))
    if op == "remove":
        if operation.value is None:
            return MemberChange("remove", None)
        return MemberChange("remove", member_ids(operation.value))
    if operation.value is None:
        return MemberChange("replace", {})
    return MemberChange(op, member_ids(operation.value))  # type: ignore[arg-type]


def split_group_patch(patch: PatchOp) -> GroupPatch:
    """Take the ``members`` operations out of a validated group PATCH, in order."""
    attributes: list[PatchOperation] = []
    members: list[MemberChange] = []
    operation_type = PatchOperation[GroupResource]
    for operation in patch.operations or []:
        if operation.path is not None and _is_members(operation.path):
            members.append(_member_change(operation))
            continue
        if operation.path is None and isinstance(operation.value, dict):
            rest = {}
            for key, item in operation.value.items():
                if key.lower() == "members" or key.lower().endswith(":members"):
                    ids = {} if item is None else member_ids(item)
                    members.append(MemberChange(operation.op.value, ids))  # type: ignore[arg-type]
                else:
                    rest[key] = item
            if not rest:
                continue
            operation = operation_type.model_construct(op=operation.op, path=None, value=rest)
        attributes.append(operation)
    rest_patch = PatchOp[GroupResource].model_construct(
        schemas=list(patch.schemas), operations=attributes
    )
    return GroupPatch(rest_patch, members)

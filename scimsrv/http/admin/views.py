"""The admin API's JSON shapes: license status, import report, rules and their preview."""

from __future__ import annotations

from datetime import datetime

from licensing_core.activation import ImportReport
from licensing_core.license_status import LicenseStatus
from scimsrv.provisioning.preview import Preview
from scimsrv.provisioning.rules import Rule


def _when(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat(timespec="seconds")


def status_view(status: LicenseStatus) -> dict:
    """The tenant's license status: owner, dates, verification, per-module seats."""
    return {
        "tenant": status.tenant_id,
        "at": _when(status.at),
        "owner": status.owner_name,
        "company": status.company_name,
        "serialNumber": status.serial_number,
        "signedWith": status.signed_with,
        "expiration": _when(status.expiration),
        "graceTo": _when(status.grace_to),
        "maintenanceTo": _when(status.maintenance_to),
        "adminWarningDate": _when(status.admin_warning_date),
        "nextCheckDate": _when(status.next_check_date),
        "valid": status.valid,
        "readOnly": status.read_only,
        "state": status.state,
        "errors": list(status.errors),
        "warnings": list(status.warnings),
        "modules": [
            {
                "module": m.module_name,
                "version": m.module_version,
                "description": m.description,
                "licenseType": m.license_type,
                "hidden": m.hidden,
                "plan": m.is_plan,
                "bought": m.bought,
                "unrestricted": m.unrestricted,
                "inUse": m.in_use,
                "free": m.free,
                "valid": m.valid,
                "problem": m.problem or None,
            }
            for m in status.modules
        ],
    }


def import_view(report: ImportReport) -> dict:
    """An import's report: accepted, signature problems, and per module the seats
    in use, the new total, how many to remove and who holds them."""
    return {
        "accepted": report.accepted,
        "owner": report.owner_name,
        "serialNumber": report.serial_number,
        "problems": list(report.problems),
        "modules": [
            {
                "module": m.module_name,
                "version": m.module_version,
                "change": m.change,
                "inUse": m.in_use,
                "oldTotal": m.old_total,
                "newTotal": m.new_total,
                "unrestricted": m.unrestricted,
                "free": m.free,
                "toRemove": m.to_remove,
                "why": m.why or None,
                "heldBy": [
                    {"associateId": h.assoc_id, "name": h.name, "userName": h.user_name}
                    for h in m.holders
                ],
            }
            for m in report.modules
        ],
    }


def rule_view(rule: Rule) -> dict:
    return {
        "id": rule.id,
        "position": rule.position,
        "scope": rule.scope,
        "target": rule.target,
        "targetBy": rule.target_by,
        "plans": rule.plans.name,
        "mode": rule.mode,
        "enabled": rule.enabled,
        "description": rule.description,
        "summary": rule.describe(),
    }


def preview_view(preview: Preview) -> dict:
    """The changes as JSON: users whose plans or state changed (granted
    combination and state, before and after), seats per module, and warnings
    about rules that cannot do what they say."""
    return {
        "warnings": list(preview.warnings),
        "changes": [
            {
                "userId": c.user_id,
                "userName": c.user_name,
                "before": c.before,
                "after": c.after,
                "stateBefore": c.state_before,
                "state": c.state,
                "reason": c.reason,
            }
            for c in preview.changes
        ],
        "seats": [
            {
                "module": s.module_name,
                "bought": s.bought,
                "unrestricted": s.unrestricted,
                "inUse": s.in_use,
                "after": s.after,
            }
            for s in preview.seats
        ],
        "waiting": len(preview.waiting),
    }

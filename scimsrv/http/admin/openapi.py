"""The admin API described as an OpenAPI 3.1 document, served at
``GET /admin/v1/openapi.json`` without a token: it describes shapes only, no
tenant's data, so tools can read it before an operator token exists.

Every operation is written here by hand (what it does, parameters, bodies,
answers); request schemas come from the pydantic models that parse the
bodies (:mod:`scimsrv.http.admin.bodies`), answer schemas are written once
here after what the endpoints render (closed objects, so a new field must be
documented). A test checks that every admin route of the app has its methods
here, and that real answers fit the schemas. ``HEAD`` is answered wherever
``GET`` is and not listed.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import JSONResponse

from licensing_core.periods import MONTHS_PER_BILLING_PERIOD
from licensing_core.tables import LICENSED, NO_PLAN, PENDING
from licensing_core.tenants import ACTIVE, DELETED, SUSPENDED
from scimsrv.http.admin.bodies import NewRule, NewTenant, RuleChange, TenantChange
from scimsrv.scim.urns import ERROR

JSON = "application/json"


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _array(items: dict) -> dict:
    return {"type": "array", "items": items}


def _object(properties: dict, *, optional: tuple[str, ...] = ()) -> dict:
    """A closed object whose properties are all present but ``optional``."""
    return {
        "type": "object",
        "properties": properties,
        "required": [name for name in properties if name not in optional],
        "additionalProperties": False,
    }


STRING = {"type": "string"}
DAY = {"type": "string", "format": "date"}
INTEGER = {"type": "integer"}
BOOLEAN = {"type": "boolean"}
MOMENT = {"type": ["string", "null"], "description": "ISO 8601, UTC, to the second."}


def _nullable(schema: dict) -> dict:
    return {**schema, "type": [schema["type"], "null"]}


def _request(model: type[BaseModel]) -> dict:
    """A request body's schema from its model; a field left out is simply absent
    (pydantic's ``default: null`` of such a field would say null is sent)."""
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    for field in schema.get("properties", {}).values():
        if field.get("default", 0) is None and field.get("type") == "string":
            del field["default"]
    return schema


def _page(key: str, item: dict) -> dict:
    """A page of a listing (:func:`scimsrv.http.admin.paging.page_body`)."""
    return _object(
        {
            "totalResults": INTEGER,
            "itemsPerPage": INTEGER,
            "startIndex": {"type": "integer", "description": "With index paging."},
            "nextCursor": {
                "type": "string",
                "description": "With cursor paging, while more follow.",
            },
            key: _array(item),
        },
        optional=("startIndex", "nextCursor"),
    )


PLAN_STATE = {"enum": [LICENSED, PENDING, NO_PLAN]}
TENANT_FIELDS = {
    "id": STRING,
    "name": STRING,
    "company": STRING,
    "contractStart": _nullable(DAY),
    "billingPeriod": {"enum": list(MONTHS_PER_BILLING_PERIOD)},
    "state": {"enum": [ACTIVE, SUSPENDED, DELETED]},
    "registered": {"type": "string", "description": "ISO 8601, UTC, to the second."},
    "suspended": MOMENT,
    "scimBaseUrl": {"type": "string", "description": "The tenant's SCIM base URL."},
}
PROBLEM = {"type": ["string", "null"], "description": "Why it cannot be granted; null: it can."}

# Who changed and the seats, of a recompute (a preview is one rolled back).
PREVIEW = {
    "warnings": {
        **_array(STRING),
        "description": "Rules that cannot do what they say: a group no group of the "
        "tenant has, a group or role on a rule for all users.",
    },
    "changes": _array(
        _object(
            {
                "userId": STRING,
                "userName": STRING,
                "before": {"type": "string", "description": "Plans granted before."},
                "after": {"type": "string", "description": "Plans granted after."},
                "stateBefore": STRING,
                "state": PLAN_STATE,
                "reason": STRING,
            }
        )
    ),
    "seats": _array(
        _object(
            {
                "module": STRING,
                "bought": INTEGER,
                "unrestricted": BOOLEAN,
                "inUse": {"type": "integer", "description": "Seats in use before."},
                "after": INTEGER,
            }
        )
    ),
    "waiting": {"type": "integer", "description": "Changed users left waiting."},
}


SCHEMAS: dict[str, Any] = {
    "Error": {
        "description": "A SCIM error (RFC 7644 §3.12): every refusal of the admin API too.",
        "type": "object",
        "properties": {
            "schemas": {"type": "array", "items": {"const": ERROR}},
            "status": {"type": "string", "description": "The HTTP status, as text."},
            "scimType": STRING,
            "detail": STRING,
        },
        "required": ["schemas", "status"],
    },
    "NewRule": _request(NewRule),
    "RuleChange": _request(RuleChange),
    "NewTenant": _request(NewTenant),
    "TenantChange": _request(TenantChange),
    "Tenant": _object(TENANT_FIELDS),
    "Tenants": _object({"tenants": _array(_ref("Tenant"))}),
    "TenantDetails": _object(
        {
            **TENANT_FIELDS,
            "users": INTEGER,
            "groups": INTEGER,
            "liveTokens": INTEGER,
            "currentPeriod": _object(
                {
                    "label": STRING,
                    "start": {"type": "string", "description": "ISO 8601, UTC."},
                    "end": {"type": "string", "description": "ISO 8601, UTC (exclusive)."},
                }
            ),
        }
    ),
    "Deletion": {
        "oneOf": [
            _object(
                {
                    "tenant": STRING,
                    "purged": {"const": False},
                    "licensesReleased": INTEGER,
                    "users": INTEGER,
                    "groups": INTEGER,
                    "liveTokens": INTEGER,
                }
            ),
            _object(
                {
                    "tenant": STRING,
                    "purged": {"const": True},
                    "rows": {"type": "integer", "description": "Rows removed."},
                }
            ),
        ]
    },
    "User": _object(
        {
            "id": STRING,
            "userName": STRING,
            "displayName": _nullable(STRING),
            "active": BOOLEAN,
            "state": PLAN_STATE,
            "requestedPlans": {"type": "string", "description": "Empty: none."},
            "planCombination": {"type": "string", "description": "Granted; empty: none."},
            "groups": {**_array(STRING), "description": "displayNames."},
            "roles": {**_array(STRING), "description": "App role values."},
            "reason": {"type": "string", "description": "Why the user is in its state."},
        }
    ),
    "Users": _page("users", _ref("User")),
    "Group": _object(
        {
            "id": STRING,
            "displayName": STRING,
            "externalId": _nullable(STRING),
            "members": INTEGER,
            "grants": _array(
                _object(
                    {
                        "plans": STRING,
                        "through": {"type": "string", "description": "its name, or rule N."},
                    }
                )
            ),
            "reason": {"type": "string", "description": "Why it grants nothing; else empty."},
        }
    ),
    "Groups": _page("groups", _ref("Group")),
    "PlanCatalog": _object(
        {
            "source": {"type": "string", "description": "Which license set."},
            "languages": _array(STRING),
            "plans": _array(
                _object(
                    {
                        "name": STRING,
                        "solution": STRING,
                        "tier": STRING,
                        "module": {"type": "string", "description": "modulelicense code name."},
                        "licenses": {**_array(STRING), "description": "Implied, code names."},
                        "problem": PROBLEM,
                        "features": {
                            "type": "object",
                            "description": "By language code: the features in it.",
                            "additionalProperties": _array(STRING),
                        },
                    }
                )
            ),
            "combinations": _array(
                _object(
                    {
                        "name": STRING,
                        "basePlans": _array(STRING),
                        "licenses": _array(STRING),
                        "problem": PROBLEM,
                    }
                )
            ),
        }
    ),
    "LogEntry": _object(
        {
            "id": INTEGER,
            "at": {"type": "string", "description": "ISO 8601, UTC, to the second."},
            "actor": STRING,
            "request": {
                "type": "object",
                "description": "method, path, requestId; bulkId and operation; or command.",
                "additionalProperties": {"type": ["string", "integer"]},
            },
            "outcome": {"enum": ["success", "failure"]},
            "status": _nullable(INTEGER),
            "error": _nullable(STRING),
            "changes": {"type": "object", "description": "What changed (docs/audit-log.md)."},
        }
    ),
    "Log": _object(
        {
            "totalResults": INTEGER,
            "itemsPerPage": INTEGER,
            "startIndex": _nullable(INTEGER),
            "nextCursor": _nullable(STRING),
            "entries": _array(_ref("LogEntry")),
        }
    ),
    "Rule": _object(
        {
            "id": INTEGER,
            "position": INTEGER,
            "scope": STRING,
            "target": STRING,
            "targetBy": STRING,
            "plans": {"type": "string", "description": "Empty: no selection."},
            "mode": STRING,
            "enabled": BOOLEAN,
            "description": STRING,
            "summary": {"type": "string", "description": "The rule in words."},
        }
    ),
    "Preview": _object(PREVIEW),
    "Reconcile": _object({"dryRun": BOOLEAN, **PREVIEW}),
    "RuleEdit": _object(
        {
            "dryRun": BOOLEAN,
            "rules": _array(_ref("Rule")),
            "rule": _ref("Rule"),
            "preview": _ref("Preview"),
        },
        optional=("rule",),
    ),
    "LicenseStatus": _object(
        {
            "tenant": STRING,
            "at": MOMENT,
            "owner": STRING,
            "company": STRING,
            "serialNumber": STRING,
            "signedWith": STRING,
            "expiration": MOMENT,
            "graceTo": MOMENT,
            "maintenanceTo": MOMENT,
            "adminWarningDate": MOMENT,
            "nextCheckDate": MOMENT,
            "valid": {"type": "boolean", "description": "Every signature holds."},
            "readOnly": {"type": "boolean", "description": "Past graceTo (else expiration)."},
            "state": {
                "enum": ["active", "read-only", "invalid"],
                "description": "invalid when a signature fails (its rows are never granted), "
                "else read-only past the stop date, else active.",
            },
            "errors": _array(STRING),
            "warnings": _array(STRING),
            "modules": _array(
                _object(
                    {
                        "module": STRING,
                        "version": STRING,
                        "description": STRING,
                        "licenseType": {
                            "type": "integer",
                            "description": "1 system, 2 site, 3 user license.",
                        },
                        "hidden": BOOLEAN,
                        "plan": BOOLEAN,
                        "bought": INTEGER,
                        "unrestricted": BOOLEAN,
                        "inUse": INTEGER,
                        "free": _nullable(INTEGER),
                        "valid": BOOLEAN,
                        "problem": _nullable(STRING),
                    }
                )
            ),
        }
    ),
    "LicenseSet": {
        "description": "A signed license set file as `scimsrv license sign` writes it "
        "(docs/licensing.md): format 1, the owner row and its module rows, each signed. "
        "Keys starting with _ are comments; any other unknown key is refused.",
        "type": "object",
        "properties": {
            "format": {"const": 1},
            "owner": {"type": "object"},
            "modules": _array({"type": "object"}),
        },
        "required": ["format", "owner"],
    },
    "ImportReport": {
        "type": "object",
        "properties": {
            "detail": {"type": "string", "description": "Why it was refused (409 only)."},
            "accepted": BOOLEAN,
            "owner": STRING,
            "serialNumber": STRING,
            "problems": {**_array(STRING), "description": "Every failing signature."},
            "modules": _array(
                _object(
                    {
                        "module": STRING,
                        "version": STRING,
                        "change": {"enum": ["new", "updated", "removed"]},
                        "inUse": INTEGER,
                        "oldTotal": _nullable(INTEGER),
                        "newTotal": INTEGER,
                        "unrestricted": BOOLEAN,
                        "free": _nullable(INTEGER),
                        "toRemove": INTEGER,
                        "why": _nullable(STRING),
                        "heldBy": _array(
                            _object({"associateId": INTEGER, "name": STRING, "userName": STRING})
                        ),
                    }
                )
            ),
        },
        "required": ["accepted", "owner", "serialNumber", "problems", "modules"],
        "additionalProperties": False,
    },
    "Check": _object({"consistent": BOOLEAN, "problems": _array(STRING)}),
    "UsageReport": {
        "description": "What `scimsrv report usage --format json` prints for one tenant: "
        "per plan and combination bought, in use at period end, peak, end-of-day peak, "
        "average, plan-days and users; the billable figure; pending users "
        "(licensing_core/usage). Its objects are open: the report may gain figures.",
        "type": "object",
        "properties": {
            "tenant": STRING,
            "tenant_name": STRING,
            "billing_period": STRING,
            "contract_start": _nullable(DAY),
            "period": {
                "type": "object",
                "properties": {
                    "label": STRING,
                    "start": STRING,
                    "end": STRING,
                    "counted_until": STRING,
                    "status": {
                        "enum": ["complete", "in progress", "future", "before the tenant existed"]
                    },
                    "complete": BOOLEAN,
                    "days": _array(DAY),
                },
                "required": ["label", "start", "end", "counted_until", "status", "complete"],
            },
            "billable": {
                "type": "object",
                "properties": {
                    "rule": STRING,
                    "plan_licenses": INTEGER,
                    "per_plan": {"type": "object", "additionalProperties": INTEGER},
                },
                "required": ["rule", "plan_licenses", "per_plan"],
            },
            "plans": _array(_ref("Usage")),
            "combinations": _array(_ref("Usage")),
            "users": _ref("Usage"),
            "pending": {
                "type": "object",
                "properties": {
                    "at_end": INTEGER,
                    "during": INTEGER,
                    "by_request": {"type": "object", "additionalProperties": INTEGER},
                    "listed": _array({"type": "object"}),
                },
                "required": ["at_end", "during"],
            },
        },
        "required": ["tenant", "period", "billable", "plans", "combinations"],
    },
    "Usage": {
        "description": "The figures of a plan, a combination or all plan holders; bought, "
        "unrestricted and bought_most for plans only, daily not for combinations.",
        "type": "object",
        "properties": {
            "name": STRING,
            "bought": INTEGER,
            "unrestricted": BOOLEAN,
            "bought_most": _nullable(INTEGER),
            "in_use_at_end": INTEGER,
            "peak": INTEGER,
            "peak_day": {"type": "integer", "description": "The billable figure."},
            "peak_day_date": _nullable(DAY),
            "average": {"type": "number"},
            "plan_days": {"type": "number"},
            "users": INTEGER,
            "daily": {**_array(INTEGER), "description": "In use at each day's close."},
        },
        "required": ["name", "in_use_at_end", "peak", "peak_day", "users"],
    },
    "ExplainRow": _object(
        {
            "associate_id": INTEGER,
            "name": STRING,
            "scim_id": _nullable(STRING),
            "from": STRING,
            "to": _nullable(STRING),
            "detail": STRING,
        }
    ),
}

TENANT = {
    "name": "tenant",
    "in": "path",
    "required": True,
    "description": "Tenant id.",
    "schema": {"type": "string", "pattern": "^[a-z0-9][a-z0-9-]{0,62}$"},
}
RULE = {
    "name": "rule",
    "in": "path",
    "required": True,
    "description": "Rule id as the rules list shows it.",
    "schema": INTEGER,
}
DRY_RUN = {
    "name": "dryRun",
    "in": "query",
    "description": "true or 1: answer the preview and change nothing; false or 0 (the "
    "default): apply. Any other value is a 400.",
    "schema": {"enum": ["true", "false", "1", "0"]},
}


def _json(schema: dict, description: str) -> dict:
    return {"description": description, "content": {JSON: {"schema": schema}}}


def _error(description: str) -> dict:
    return _json(_ref("Error"), description)


REFUSALS = {
    "401": _error("No operator token, or one that is not valid (Basic or Bearer challenge)."),
    "404": _error("No such tenant (or rule)."),
    "429": _error("Too many requests for this tenant; Retry-After says when to try again."),
    "503": _error("The database is busy; Retry-After says when to try again."),
}


def _query(name: str, description: str) -> dict:
    return {"name": name, "in": "query", "description": description, "schema": STRING}


def _flag(name: str, description: str) -> dict:
    return {
        **_query(name, description + " false or 0 (the default): not. Any other value is a 400."),
        "schema": {"enum": ["true", "false", "1", "0"]},
    }


def _number(name: str, description: str) -> dict:
    return {**_query(name, description + " Not an integer: 400."), "schema": INTEGER}


LANG = _query("lang", "en, no, de or nl: the features in that language only.")
# RFC 7644 §3.4.2.4, as the SCIM API reads them.
START_INDEX = _number("startIndex", "1-based position of the first; below 1 counts as 1.")
PAGING = [
    START_INDEX,
    _number("count", "Page size: 100 by default, 1000 at most."),
    _query("cursor", "From nextCursor of the page before (not with startIndex)."),
]
HTML_PAGE = {"description": "The page.", "content": {"text/html": {"schema": STRING}}}


def _page_error(description: str) -> dict:
    """An error of an HTML page: the same status and detail as an HTML page for a
    browser (its Accept names text/html), else the SCIM error."""
    return {
        "description": description + " A browser gets it as an HTML page.",
        "content": {JSON: {"schema": _ref("Error")}, "text/html": {"schema": STRING}},
    }


NO_BODY = "A body: this request takes none (empty, or {})."


def _operation(
    summary: str, responses: dict, *, parameters=(), body=None, tenant=True, **extra
) -> dict:
    """An operation; one without ``body`` refuses any (400, :func:`bodiless`)."""
    responses = {**responses, **REFUSALS}
    if body is None:
        bad = responses.get("400")
        if bad is None:
            responses["400"] = _error(NO_BODY)
        else:
            responses["400"] = {**bad, "description": f"{bad['description']} {NO_BODY}"}
    operation = {
        "summary": summary,
        "parameters": [TENANT, *parameters] if tenant else list(parameters),
        "responses": responses,
        **extra,
    }
    if body is not None:
        operation["requestBody"] = {"required": True, "content": {JSON: {"schema": body}}}
    return operation


def _edit(summary: str, ok: str, *, parameters=(), body=None) -> dict:
    """A rule edit: ``ok`` when applied, 200 for a dry run."""
    return _operation(
        summary,
        {
            "200": _json(_ref("RuleEdit"), "The rules, the rule and the preview (dry run too)."),
            ok: _json(_ref("RuleEdit"), "Applied: the rules, the rule and the preview."),
            "400": _error("A bad body, field value, position or dryRun."),
        },
        parameters=[*parameters, DRY_RUN],
        body=body,
    )


PATHS: dict[str, dict[str, Any]] = {
    "/tenants/{tenant}/rules": {
        "get": _operation(
            "The tenant's group-to-plan rules in the order they apply.",
            {"200": _json(_object({"rules": _array(_ref("Rule"))}), "The rules.")},
        ),
        "post": _edit("Add a rule.", "201", body=_ref("NewRule")),
    },
    "/tenants/{tenant}/rules/preview": {
        "get": _operation(
            "What recomputing every user under the rules as they stand would change.",
            {"200": _json(_ref("Preview"), "The preview.")},
        ),
    },
    "/tenants/{tenant}/rules/{rule}": {
        "patch": _edit(
            "Enable, disable or move a rule.", "200", parameters=[RULE], body=_ref("RuleChange")
        ),
        "delete": _edit("Remove a rule.", "200", parameters=[RULE]),
    },
    "/tenants/{tenant}/check": {
        "get": _operation(
            "Every license row that fails verification, links, seats, plan states and "
            "ledger against a recomputation from scratch.",
            {"200": _json(_ref("Check"), "Consistent, or every inconsistency.")},
        ),
    },
    "/tenants/{tenant}/license-set": {
        "get": _operation(
            "The tenant's license set: owner, serial, dates, seats per module, verification.",
            {"200": _json(_ref("LicenseStatus"), "The status now.")},
        ),
        "post": _operation(
            "Verify a signed license set and make it the tenant's set.",
            {
                "200": _json(_ref("ImportReport"), "Imported: per module the change."),
                "400": _error("Not a license set (JSON, fields, values)."),
                "409": _json(
                    _ref("ImportReport"),
                    "Refused, nothing changed: a signature fails, or per module the seats "
                    "to remove and who holds them.",
                ),
            },
            body=_ref("LicenseSet"),
        ),
    },
    "/tenants/{tenant}/reports/usage": {
        "get": _operation(
            "Pay-per-use usage over a period, from the license ledger.",
            {
                "200": _json(
                    {"oneOf": [_ref("UsageReport"), _array(_ref("ExplainRow"))]},
                    "The report; with explain, the users behind that figure.",
                ),
                "400": _error("A bad period, plan or asOf."),
            },
            parameters=[
                {
                    "name": "period",
                    "in": "query",
                    "required": True,
                    "description": "2026-10, 2026-Q4, 2026-H2 or 2026, aligned to the "
                    "tenant's contract start.",
                    "schema": STRING,
                },
                {
                    "name": "explain",
                    "in": "query",
                    "description": "A plan, a combination, 'users' or 'pending': list the "
                    "users behind its figures instead.",
                    "schema": STRING,
                },
                {
                    "name": "asOf",
                    "in": "query",
                    "description": "Count up to this instant (ISO 8601; naive means UTC) "
                    "instead of now.",
                    "schema": STRING,
                },
            ],
        ),
    },
    "/tenants/{tenant}/license": {
        "get": _operation(
            "The Licenses page (HTML), as the CRM shows it; a browser signs in with "
            "HTTP Basic: any user name, the operator token as password.",
            {"200": HTML_PAGE, "400": _page_error("A bad period.")},
            parameters=[
                _query(
                    "period",
                    "The chart's period: 2026-10, 2026-Q4, 2026-H2 or 2026, aligned to the "
                    "tenant's contract start. Default: the previous and the current billing "
                    "period. Never before the tenant was created.",
                )
            ],
        ),
    },
    "/tenants": {
        "get": _operation(
            "Every tenant (deleted ones too) by id: names, contract terms, state, base URL.",
            {"200": _json(_ref("Tenants"), "The tenants.")},
            tenant=False,
        ),
        "post": _operation(
            "Create a tenant with the default license set (201).",
            {
                "201": _json(_ref("Tenant"), "The tenant."),
                "400": _error("A bad id, field or value; unknown fields are named."),
                "409": _error("The id is taken (also by a deleted tenant)."),
            },
            body=_ref("NewTenant"),
            tenant=False,
        ),
    },
    "/tenants/{tenant}": {
        "get": _operation(
            "The tenant: terms, state, the billing period in progress, directory size.",
            {"200": _json(_ref("TenantDetails"), "The tenant.")},
        ),
        "patch": _operation(
            "Change its name, company name or contract terms.",
            {
                "200": _json(_ref("TenantDetails"), "The tenant after the change."),
                "400": _error("A bad field or value (an empty name); unknown fields are named."),
                "409": _error("Terms can no longer change (their first period has ended)."),
            },
            body=_ref("TenantChange"),
        ),
        "delete": _operation(
            "Delete the tenant: release every license, remove its directory, keep the "
            "ledger and history; with purge=true remove every row.",
            {
                "200": _json(_ref("Deletion"), "What was removed."),
                "400": _error("A bad purge value."),
            },
            parameters=[_flag("purge", "true or 1: remove every row of the tenant.")],
        ),
    },
    "/tenants/{tenant}/suspend": {
        "post": _operation(
            "Close the tenant's SCIM API (403) until it is resumed.",
            {"200": _json(_ref("TenantDetails"), "The tenant.")},
        ),
    },
    "/tenants/{tenant}/resume": {
        "post": _operation(
            "Open a suspended tenant's SCIM API again.",
            {"200": _json(_ref("TenantDetails"), "The tenant.")},
        ),
    },
    "/tenants/{tenant}/reconcile": {
        "post": _operation(
            "Recompute every user now and say who changed (waiting users whose blocker "
            "went away are served).",
            {"200": _json(_ref("Reconcile"), "Who changed, and the seats.")},
            parameters=[DRY_RUN],
        ),
    },
    "/tenants/{tenant}/users": {
        "get": _operation(
            "Users by userName with their state, plans, groups and the reason for their state.",
            {
                "200": _json(_ref("Users"), "A page of users."),
                "400": _error("A bad state, plan or page."),
            },
            parameters=[
                _query("state", "licensed, pending or none."),
                _query("plan", "A base plan (in any combination) or a combination."),
                *PAGING,
            ],
        ),
    },
    "/tenants/{tenant}/groups": {
        "get": _operation(
            "Groups by displayName with the plans each grants (or why none).",
            {"200": _json(_ref("Groups"), "A page of groups."), "400": _error("A bad page.")},
            parameters=PAGING,
        ),
    },
    "/tenants/{tenant}/plans": {
        "get": _operation(
            "The plan catalog of the tenant's license set.",
            {
                "200": _json(_ref("PlanCatalog"), "Plans, features, combinations."),
                "400": _error("A bad lang."),
            },
            parameters=[LANG],
        ),
    },
    "/plans": {
        "get": _operation(
            "The plan catalog of the default license set.",
            {
                "200": _json(_ref("PlanCatalog"), "Plans, features, combinations."),
                "400": _error("A bad lang."),
            },
            parameters=[LANG],
            tenant=False,
        ),
    },
    "/tenants/{tenant}/log": {
        "get": _operation(
            "The provisioning and audit log, newest first.",
            {
                "200": _json(_ref("Log"), "A page of entries."),
                "400": _error("A bad filter or page."),
            },
            parameters=[
                _query("user", "A SCIM id or userName."),
                _query("since", "ISO 8601 instant or an age (7d)."),
                _query("until", "ISO 8601 instant or an age."),
                _number("startIndex", "1-based position of the first; below 1: 400."),
                _number("count", "Page size, 1-1000 (100 by default); another: 400."),
                _query("cursor", "From nextCursor of the page before (not with startIndex)."),
            ],
        ),
    },
    "/tenants/{tenant}/license/holders/{module}": {
        "get": _operation(
            "Who holds one user license (HTML, a page at a time).",
            {"200": HTML_PAGE, "400": _page_error("A paging value that is not an integer.")},
            parameters=[
                {
                    "name": "module",
                    "in": "path",
                    "required": True,
                    "description": "moduleLicense_id of a user license.",
                    "schema": INTEGER,
                },
                START_INDEX,
                _number("count", "Page size: 25 by default, 100 at most."),
            ],
        ),
    },
    "/tenants/{tenant}/license/users/{user}": {
        "get": _operation(
            "One user's newest provisioning log entries (HTML): when, who, the request, "
            "the outcome, what changed.",
            {"200": HTML_PAGE},
            parameters=[
                {
                    "name": "user",
                    "in": "path",
                    "required": True,
                    "description": "SCIM id of the user.",
                    "schema": STRING,
                }
            ],
        ),
    },
    "/openapi.json": {
        "get": {
            "summary": "This document.",
            "security": [],
            "responses": {
                "200": _json(
                    {"type": "object", "required": ["openapi", "info", "paths", "components"]},
                    "OpenAPI 3.1.",
                )
            },
        },
    },
}


@cache
def document() -> dict[str, Any]:
    """The OpenAPI 3.1 document of ``/admin/v1``."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "scimsrv admin API",
            "version": "1",
            "description": "The operators' API: rules, license sets, consistency checks and "
            "usage reports of each tenant. Every operation but this document needs an "
            "operator token (`scimsrv operator token issue`) as a Bearer token or as "
            "the password of HTTP Basic. Errors are SCIM errors (RFC 7644 §3.12).",
        },
        "servers": [{"url": "/admin/v1"}],
        "security": [{"bearer": []}, {"basic": []}],
        "paths": PATHS,
        "components": {
            "schemas": SCHEMAS,
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "basic": {"type": "http", "scheme": "basic"},
            },
        },
    }


async def openapi(_request: Request) -> JSONResponse:
    """``GET /admin/v1/openapi.json``: :func:`document`, no token needed."""
    return JSONResponse(document())

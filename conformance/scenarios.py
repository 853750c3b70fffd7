#!/usr/bin/env python3
"""Entra ID and Okta provisioning scenarios against a LIVE scimsrv, with the
licensing checked after every step.

    python conformance/scenarios.py --root http://127.0.0.1:PORT --tenant T \\
        --token=TENANT_TOKEN --operator-token=OP_TOKEN [--large-users 1000 --large-groups 20]

(a token may begin with "-": use the ``--token=T`` form, or the environment
variables CONFORMANCE_TOKEN and CONFORMANCE_OPERATOR_TOKEN.) The tenant must
be fresh: the sequences create groups named Sales-Premium, Marketing-Premium,
Marketing-Essentials and Service-Essentials + Marketing-Premium.

Each step sends the requests an identity provider sends (docs/identity-providers.md), then
asserts the licensing extension of the users it affects (state,
planCombination, basePlans, licenses), the change of ``inUse`` of every plan
module and of ``user``/``web`` on the license-set endpoint, and that the
tenant's consistency check (``/admin/v1/tenants/T/check``) is clean.

Sections: the Entra ID sequence in its default dialect and in the
``?aadOptscim062020`` dialect, the Okta sequence, a seat shortage
(``pending`` users served first come, first served), and a large seeded run
(users and groups created through the SCIM API, then the invariant and the
pay-per-use figures against the extension, counted with filters).

All names carry a random run id, so the tenant may hold other data; seat
expectations are changes against the figures read before each step. The
seat shortage needs ``free + 2`` users for Marketing-Premium (12 on a new
tenant's default set).

Prints ``ok <step>`` per step and a summary; exits 1 on the first failed
assertion (what was expected, what came back), 2 on bad arguments.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable
from contextlib import contextmanager
from itertools import combinations, product
from typing import Any
from urllib.parse import quote

import httpx

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
ADSCIM_GROUP = "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"
LICENSING = "urn:scimsrv:params:scim:schemas:extension:licensing:2.0:User"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
LIST_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
SCIM_JSON = "application/scim+json"
AAD_FLAG = "aadOptscim062020"

# -- the plan catalog, as docs/licensing.md §1 states it (kept independent of the server) --

SOLUTIONS = ("Sales", "Service", "Marketing")  # display order
TIERS = ("Essentials", "Premium")  # low to high
PLANS = tuple(f"{s}-{t}" for s in SOLUTIONS for t in TIERS)
PLAN_MODULES = tuple(p.lower() for p in PLANS)
SEAT_MODULES = (*PLAN_MODULES, "user", "web")
_BY_FOLDED = {p.casefold(): p for p in PLANS}


def combo(*plans: str) -> tuple[str, ...]:
    """Plans in display order (Sales, Service, Marketing)."""
    return tuple(sorted(set(plans), key=lambda p: SOLUTIONS.index(p.split("-")[0])))


def combo_name(plans: Iterable[str]) -> str:
    return " + ".join(combo(*plans))


def parse_plans(name: str) -> tuple[str, ...] | None:
    """The combination a group or role name stands for (case-insensitive), or None."""
    parts = [part.strip().casefold() for part in name.split("+")]
    if not all(part in _BY_FOLDED for part in parts):
        return None
    plans = [_BY_FOLDED[part] for part in parts]
    if len({p.split("-")[0] for p in plans}) != len(plans):
        return None  # two tiers of one solution: not a combination
    return combo(*plans)


def merge(*sets: Iterable[str]) -> tuple[str, ...]:
    """Union keeping the highest tier per solution (how groups accumulate)."""
    best: dict[str, str] = {}
    for plans in sets:
        for plan in plans:
            solution, tier = plan.split("-")
            if solution not in best or TIERS.index(tier) > TIERS.index(best[solution]):
                best[solution] = tier
    return combo(*(f"{s}-{t}" for s, t in best.items()))


ALL_COMBINATIONS = [
    combo(*chosen)
    for size in (1, 2, 3)
    for sols in combinations(SOLUTIONS, size)
    for chosen in product(*[[f"{s}-{t}" for t in TIERS] for s in sols])
]
assert len(ALL_COMBINATIONS) == 26


class ScenarioFailed(Exception):
    """An assertion failed; the message says what was expected and what came back."""


def expect(condition: bool, what: str, expected: Any = None, got: Any = None) -> None:
    if not condition:
        detail = what
        if expected is not None or got is not None:
            detail += f"\n    expected: {_short(expected)}\n    got:      {_short(got)}"
        raise ScenarioFailed(detail)


def _short(value: Any, limit: int = 1500) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str, sort_keys=True)
    return text if len(text) <= limit else text[:limit] + " ..."


def _q(value: str) -> str:
    return quote(value, safe="")


def eq_filter(attribute: str, value: str) -> str:
    """``filter=<attribute> eq "<value>"``, encoded for a query string."""
    return "filter=" + _q(f'{attribute} eq "{value}"')


# -- HTTP -------------------------------------------------------------------------


class Server:
    """One tenant's SCIM API and the operators' admin API, over one keep-alive client."""

    def __init__(self, root: str, tenant: str, token: str, operator_token: str, timeout: float):
        self.root = root.rstrip("/")
        self.tenant = tenant
        self.base = f"{self.root}/t/{tenant}/scim/v2"
        self.admin_base = f"{self.root}/admin/v1/tenants/{tenant}"
        self.token = token
        self.operator_token = operator_token
        self.client = httpx.Client(
            timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
            limits=httpx.Limits(max_connections=4, max_keepalive_connections=4),
        )
        self.requests = 0
        self.slowest: list[tuple[float, str]] = []  # the 5 slowest requests

    def _timed(self, seconds: float, method: str, url: str) -> None:
        self.slowest.append((seconds, f"{method} {url[len(self.root) :]}"))
        self.slowest = sorted(self.slowest, reverse=True)[:5]

    def close(self) -> None:
        self.client.close()

    def call(
        self,
        method: str,
        url: str,
        body: Any = None,
        *,
        token: str,
        expect_status: int | tuple[int, ...],
    ) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}", "Accept": SCIM_JSON}
        content = None
        if body is not None:
            headers["Content-Type"] = SCIM_JSON
            content = json.dumps(body)
        self.requests += 1
        started = time.monotonic()
        try:
            response = self.client.request(method, url, content=content, headers=headers)
            self._timed(time.monotonic() - started, method, url)
        except httpx.HTTPError as exc:
            raise ScenarioFailed(
                f"{method} {url}: no answer ({exc.__class__.__name__}: {exc})"
            ) from None
        wanted = (expect_status,) if isinstance(expect_status, int) else expect_status
        if response.status_code not in wanted:
            sent = "" if body is None else f"\n    sent:     {_short(body)}"
            raise ScenarioFailed(
                f"{method} {url}{sent}\n    expected: HTTP {' or '.join(map(str, wanted))}"
                f"\n    got:      HTTP {response.status_code} {_short(response.text)}"
            )
        return response

    def scim(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        query: str = "",
        status: int | tuple[int, ...] = 200,
        aad: bool = False,
    ) -> Any:
        """A SCIM request; ``query`` is already encoded; ``aad`` adds the Entra flag."""
        parts = [AAD_FLAG] if aad else []
        if query:
            parts.append(query)
        url = self.base + path + ("?" + "&".join(parts) if parts else "")
        response = self.call(method, url, body, token=self.token, expect_status=status)
        ctype = response.headers.get("content-type", "")
        if response.status_code != 204 or response.content:
            expect(
                ctype.startswith(SCIM_JSON),
                f"{method} {path}: Content-Type of a SCIM response",
                SCIM_JSON,
                ctype,
            )
        return response.json() if response.content else None

    def admin(self, method: str, path: str, body: Any = None, status: int = 200) -> Any:
        response = self.call(
            method,
            self.admin_base + path,
            body,
            token=self.operator_token,
            expect_status=status,
        )
        return response.json()

    # -- reads used by the assertions --

    def seats(self) -> dict[str, dict[str, Any]]:
        """Per module code name: bought, inUse, free, unrestricted (license-set endpoint)."""
        body = self.admin("GET", "/license-set")
        return {m["module"]: m for m in body["modules"]}

    def check(self) -> None:
        body = self.admin("GET", "/check")
        expect(
            body.get("consistent") is True and not body.get("problems"),
            f"GET /admin/v1/tenants/{self.tenant}/check: the tenant is consistent",
            {"consistent": True, "problems": []},
            body,
        )

    def licensing(self, user_id: str) -> dict[str, Any]:
        return self.scim("GET", f"/Users/{user_id}").get(LICENSING, {})

    def count(self, filter_: str) -> int:
        body = self.scim("GET", "/Users", query=f"filter={_q(filter_)}&count=0")
        return int(body["totalResults"])

    def list_all(self, filter_: str, attributes: str = "", page: int = 500) -> list[dict]:
        """Every user matching ``filter_`` (pages of ``page``, startIndex += page)."""
        found: list[dict] = []
        start = 1
        extra = f"&attributes={_q(attributes)}" if attributes else ""
        while True:
            body = self.scim(
                "GET",
                "/Users",
                query=f"filter={_q(filter_)}&startIndex={start}&count={page}{extra}",
            )
            resources = body.get("Resources", [])
            found += resources
            if not resources or len(found) >= body["totalResults"]:
                return found
            start += len(resources)


# -- steps and expectations ---------------------------------------------------------


class Expected:
    """What one user's licensing extension must show."""

    def __init__(
        self,
        state: str,
        granted: Iterable[str] = (),
        requested: Iterable[str] | None = None,
        reason: str | None = None,
    ) -> None:
        self.state = state
        self.granted = combo(*granted)
        self.requested = combo(*(self.granted if requested is None else requested))
        self.reason = reason  # a word the reason must contain (pending users)


def licensed(*plans: str) -> Expected:
    return Expected("licensed", plans)


def pending(requested: Iterable[str], granted: Iterable[str] = (), reason: str = "") -> Expected:
    return Expected("pending", granted, requested, reason)


NONE = Expected("none")


class Scenarios:
    def __init__(self, server: Server, run_id: str, out: Callable[[str], None] = print) -> None:
        self.server = server
        self.run = run_id
        self.out = out
        self.steps = 0
        self.section_steps: Counter[str] = Counter()
        self.section = ""
        self.users: dict[str, str] = {}  # label -> id
        self.groups: dict[str, str] = {}  # label -> id
        self.names: dict[str, str] = {}  # user id -> userName
        self.rule_id: int | None = None

    # -- the step frame --

    @contextmanager
    def step(
        self,
        name: str,
        users: dict[str, Expected] | None = None,
        seats: dict[str, int] | None = None,
        *,
        check_seats: bool = True,
    ):
        """Run a step; then check users' extensions, seat changes and the invariant.

        ``seats`` gives the expected change of ``inUse`` per module; every
        other plan module and ``user``/``web`` must not change (unless
        ``check_seats`` is false: the large run checks its figures at the end).
        """
        try:
            before = self.server.seats()
            yield
            for label, wanted in (users or {}).items():
                self.expect_user(label, wanted)
            if check_seats:
                self.expect_seats(before, seats or {})
            self.server.check()
        except ScenarioFailed as exc:
            raise ScenarioFailed(f"step {self.section}: {name}: {exc}") from None
        self.steps += 1
        self.section_steps[self.section] += 1
        self.out(f"ok {self.section}: {name}")

    def expect_user(self, label: str, wanted: Expected) -> None:
        user_id = self.users[label]
        view = self.server.licensing(user_id)
        who = f"user {label} ({self.names.get(user_id, user_id)})"
        expect(view.get("state") == wanted.state, f"{who}: licensing state", wanted, view)
        if wanted.state == "none":
            expect(
                view == {"state": "none"},
                f"{who}: extension of a user without plans",
                {"state": "none"},
                view,
            )
            return
        expect(
            view.get("requestedPlans") == combo_name(wanted.requested),
            f"{who}: requestedPlans",
            combo_name(wanted.requested),
            view,
        )
        if wanted.granted:
            expect(
                view.get("planCombination") == combo_name(wanted.granted)
                and view.get("basePlans") == list(wanted.granted),
                f"{who}: planCombination and basePlans",
                {"planCombination": combo_name(wanted.granted), "basePlans": wanted.granted},
                view,
            )
            licenses = view.get("licenses") or []
            plan_modules = {m for m in licenses if m in PLAN_MODULES}
            needed = {p.lower() for p in wanted.granted}
            expect(
                plan_modules == needed and {"user", "web"} <= set(licenses),
                f"{who}: licenses hold exactly the granted plan modules plus user and web",
                sorted(needed | {"user", "web"}),
                licenses,
            )
        else:
            expect(
                "planCombination" not in view
                and "basePlans" not in view
                and not any(
                    m in PLAN_MODULES or m in ("user", "web") for m in view.get("licenses") or []
                ),
                f"{who}: no plan granted, no plan/user/web license held",
                "no planCombination, basePlans or plan licenses",
                view,
            )
        if wanted.state == "pending":
            reason = view.get("reason") or ""
            expect(
                bool(reason) and wanted.reason.casefold() in reason.casefold(),
                f"{who}: a pending user's reason names what is missing",
                f"a reason containing {wanted.reason!r}",
                view,
            )
        else:
            expect("reason" not in view, f"{who}: no reason unless pending", "no reason", view)

    def expect_seats(self, before: dict[str, dict], delta: dict[str, int]) -> None:
        after = self.server.seats()
        wrong = {}
        for module in SEAT_MODULES:
            want = before[module]["inUse"] + delta.get(module, 0)
            if after[module]["inUse"] != want:
                wrong[module] = {
                    "before": before[module]["inUse"],
                    "expected": want,
                    "got": after[module]["inUse"],
                }
        expect(not wrong, "inUse of the plan modules and user/web (license-set)", None, wrong)

    # -- helpers that speak as the IdPs do --

    def uname(self, label: str, domain: str = "example.com") -> str:
        return f"sc-{self.run}-{label}@{domain}"

    def gname(self, label: str) -> str:
        return f"{label}-{self.run}"

    def lookup_user(self, user_name: str, *, okta: bool = False, aad: bool = False) -> list[dict]:
        query = eq_filter("userName", user_name)
        if okta:
            query += "&startIndex=1&count=100"
        body = self.server.scim("GET", "/Users", query=query, aad=aad)
        self.expect_list(body, "user lookup")
        return body.get("Resources", [])

    def lookup_group(self, name: str, aad: bool = False) -> list[dict]:
        query = "excludedAttributes=members&" + eq_filter("displayName", name)
        body = self.server.scim("GET", "/Groups", query=query, aad=aad)
        self.expect_list(body, "group lookup")
        for group in body.get("Resources", []):
            expect(
                "members" not in group,
                "excludedAttributes=members leaves members out",
                "no members",
                group,
            )
        return body.get("Resources", [])

    @staticmethod
    def expect_list(body: Any, what: str) -> None:
        expect(
            isinstance(body, dict)
            and LIST_RESPONSE in body.get("schemas", [])
            and isinstance(body.get("totalResults"), int)
            and len(body.get("Resources", [])) <= body["totalResults"],
            f"{what}: a ListResponse",
            "schemas ListResponse, totalResults, Resources",
            body,
        )

    def entra_user(self, label: str, roles: list[str] = (), aad: bool = False) -> dict:
        """Entra: no match -> POST; then the lookup matches, then GET by id."""
        user_name = self.uname(label)
        expect(
            self.lookup_user(user_name, aad=aad) == [],
            f"{label}: no match before create",
            [],
            "a match",
        )
        body = {
            "schemas": [USER, ENTERPRISE],
            "externalId": str(uuid.uuid4()),
            "userName": user_name,
            "active": True,
            "displayName": f"{label.title()} Tester",
            "emails": [{"primary": True, "type": "work", "value": user_name}],
            "meta": {"resourceType": "User"},
            "name": {"formatted": f"{label} Tester", "familyName": "Tester", "givenName": label},
            "roles": [
                {"primary": False, "type": "WindowsAzureActiveDirectoryRole", "value": role}
                for role in roles
            ],
            ENTERPRISE: {"department": "Sales", "employeeNumber": "1"},
        }
        created = self.server.scim("POST", "/Users", body, status=201, aad=aad)
        expect(
            created.get("userName") == user_name and created.get("id"),
            f"{label}: created user",
            user_name,
            created,
        )
        self.users[label] = created["id"]
        self.names[created["id"]] = user_name
        matched = self.lookup_user(user_name, aad=aad)
        expect(
            [u["id"] for u in matched] == [created["id"]],
            f"{label}: lookup matches",
            [created["id"]],
            matched,
        )
        got = self.server.scim("GET", f"/Users/{created['id']}", aad=aad)
        expect(got["id"] == created["id"], f"{label}: GET by id", created["id"], got)
        return got

    def entra_group(self, label: str, name: str, aad: bool = False) -> str:
        """Entra: lookup by displayName (members excluded); no match -> POST without members."""
        found = self.lookup_group(name, aad=aad)
        expect(found == [], f"group {name!r}: no match before create", [], found)
        body = {
            "schemas": [GROUP, ADSCIM_GROUP],
            "externalId": str(uuid.uuid4()),
            "displayName": name,
            "meta": {"resourceType": "Group"},
        }
        created = self.server.scim("POST", "/Groups", body, status=201, aad=aad)
        expect(
            created.get("displayName") == name and not created.get("members"),
            f"group {name!r}: created without members",
            name,
            created,
        )
        self.groups[label] = created["id"]
        found = self.lookup_group(name, aad=aad)
        expect(
            [g["id"] for g in found] == [created["id"]],
            f"group {name!r}: lookup matches",
            created["id"],
            found,
        )
        return created["id"]

    def patch(self, kind: str, ident: str, *ops: dict, status: int = 200, aad: bool = False):
        body = {"schemas": [PATCH_OP], "Operations": list(ops)}
        return self.server.scim("PATCH", f"/{kind}/{ident}", body, status=status, aad=aad)

    def group_patch(self, group: str, *ops: dict, aad: bool = False) -> None:
        """Group PATCH answers 204 (docs/identity-providers.md)."""
        self.patch("Groups", self.groups[group], *ops, status=204, aad=aad)

    def members(self, group: str) -> set[str]:
        body = self.server.scim("GET", f"/Groups/{self.groups[group]}")
        return {m["value"] for m in body.get("members", [])}

    # -- the sections --

    # Groups the sequences create under these exact names: the tenant must not have them.
    FIXED_GROUPS = (
        "Sales-Premium",
        "Service-Essentials + Marketing-Premium",
        "Marketing-Premium",
        "Marketing-Essentials",
    )

    def preflight(self) -> None:
        self.section = "preflight"
        with self.step("the tenant has no groups named as the plans the sequences create"):
            taken = [name for name in self.FIXED_GROUPS if self.lookup_group(name)]
            expect(not taken, "run the scenarios on a fresh tenant", "none of them", taken)

    def run_all(self, large_users: int, large_groups: int, seed: int, limit: float) -> None:
        self.preflight()
        self.entra()
        self.entra_rfc_dialect()
        self.okta()
        self.seat_shortage()
        if large_users:
            self.large(large_users, large_groups, seed, limit)

    def entra(self) -> None:
        self.section = "entra"
        srv = self.server
        with self.step("test connection: filter on a random GUID is a 200 empty ListResponse"):
            body = srv.scim("GET", "/Users", query=eq_filter("userName", str(uuid.uuid4())))
            self.expect_list(body, "test connection")
            expect(
                body["totalResults"] == 0 and not body.get("Resources"),
                "test connection: no match",
                0,
                body,
            )
        with self.step("GET /Schemas lists User, enterprise and licensing"):
            body = srv.scim("GET", "/Schemas")
            ids = {
                s.get("id") for s in body.get("Resources", body if isinstance(body, list) else [])
            }
            expect(
                {USER, ENTERPRISE, LICENSING, GROUP} <= ids,
                "schemas advertised",
                sorted({USER, ENTERPRISE, LICENSING, GROUP}),
                sorted(map(str, ids)),
            )
        with self.step(
            "alice and bob: no match -> POST -> match -> GET", {"alice": NONE, "bob": NONE}
        ):
            self.entra_user("alice")
            self.entra_user("bob")
        with self.step("duplicate create is 409 with detail"):
            body = srv.scim(
                "POST", "/Users", {"schemas": [USER], "userName": self.uname("alice")}, status=409
            )
            expect(
                ERROR in body.get("schemas", []) and body.get("detail"),
                "409 Error body",
                "schemas Error, detail",
                body,
            )
        with self.step(
            "carol created with an app role named as a plan (Service-Premium)",
            {"carol": licensed("Service-Premium")},
            {"service-premium": 1, "user": 1, "web": 1},
        ):
            self.entra_user("carol", roles=["Service-Premium"])
        with self.step("PATCH the differences in the default dialect (alice)", {"alice": NONE}):
            alice = self.users["alice"]
            new_mail = self.uname("alice.work", "example.org")
            body = self.patch(
                "Users",
                alice,
                {"op": "Replace", "path": 'emails[type eq "work"].value', "value": new_mail},
                {"op": "Add", "path": "name.givenName", "value": "Alicia"},
                {"op": "Add", "path": f"{ENTERPRISE}:employeeNumber", "value": "42"},
                {"op": "Replace", "path": f"{ENTERPRISE}:department", "value": "Field Sales"},
                {"op": "Add", "path": f"{ENTERPRISE}:manager", "value": self.users["bob"]},
                {"op": "Add", "path": 'phoneNumbers[type eq "mobile"].value', "value": "+4799"},
                {"op": "Replace", "path": "active", "value": "True"},
            )
            work = [e.get("value") for e in body.get("emails", []) if e.get("type") == "work"]
            mobile = [
                p.get("value") for p in body.get("phoneNumbers", []) if p.get("type") == "mobile"
            ]
            ent = body.get(ENTERPRISE, {})
            got = {
                "work": work,
                "givenName": body.get("name", {}).get("givenName"),
                "employeeNumber": ent.get("employeeNumber"),
                "department": ent.get("department"),
                "manager": (ent.get("manager") or {}).get("value"),
                "mobile": mobile,
                "active": body.get("active"),
            }
            want = {
                "work": [new_mail],
                "givenName": "Alicia",
                "employeeNumber": "42",
                "department": "Field Sales",
                "manager": self.users["bob"],
                "mobile": ["+4799"],
                "active": True,
            }
            expect(got == want, "PATCH applied as Entra means it", want, got)
        with self.step("group lookup Sales-Premium (members excluded) -> POST with ADSCIM schema"):
            self.entra_group("sales", "Sales-Premium")
        with self.step(
            "Add alice to Sales-Premium (1 member per op)",
            {"alice": licensed("Sales-Premium"), "bob": NONE},
            {"sales-premium": 1, "user": 1, "web": 1},
        ):
            self.group_patch(
                "sales", {"op": "Add", "path": "members", "value": [{"value": self.users["alice"]}]}
            )
        with self.step(
            "Add bob to Sales-Premium",
            {"bob": licensed("Sales-Premium")},
            {"sales-premium": 1, "user": 1, "web": 1},
        ):
            self.group_patch(
                "sales",
                {
                    "op": "Add",
                    "path": "members",
                    "value": [{"$ref": None, "value": self.users["bob"]}],
                },
            )
        with self.step("group Service-Essentials + Marketing-Premium created"):
            self.entra_group("svc-mkt", "Service-Essentials + Marketing-Premium")
        with self.step(
            "Add alice to Service-Essentials + Marketing-Premium: a multi-plan user",
            {"alice": licensed("Sales-Premium", "Service-Essentials", "Marketing-Premium")},
            {"service-essentials": 1, "marketing-premium": 1},
        ):
            self.group_patch(
                "svc-mkt",
                {"op": "Add", "path": "members", "value": [{"value": self.users["alice"]}]},
            )
        with self.step(
            "group Finance (not a plan) created; carol added: no change",
            {"carol": licensed("Service-Premium")},
        ):
            self.entra_group("finance", self.gname("Finance"))
            self.group_patch(
                "finance",
                {"op": "Add", "path": "members", "value": [{"value": self.users["carol"]}]},
            )
        with self.step(
            "Remove bob from Sales-Premium (value list)",
            {
                "bob": NONE,
                "alice": licensed("Sales-Premium", "Service-Essentials", "Marketing-Premium"),
            },
            {"sales-premium": -1, "user": -1, "web": -1},
        ):
            self.group_patch(
                "sales",
                {"op": "Remove", "path": "members", "value": [{"value": self.users["bob"]}]},
            )
            expect(
                self.members("sales") == {self.users["alice"]},
                "Sales-Premium members",
                [self.users["alice"]],
                sorted(self.members("sales")),
            )
        with self.step(
            "Add app role Sales-Essentials to bob",
            {"bob": licensed("Sales-Essentials")},
            {"sales-essentials": 1, "user": 1, "web": 1},
        ):
            self.patch(
                "Users",
                self.users["bob"],
                {
                    "op": "Add",
                    "path": "roles",
                    "value": [
                        {
                            "primary": False,
                            "type": "WindowsAzureActiveDirectoryRole",
                            "value": "sales-essentials",
                        }
                    ],
                },
            )
        with self.step("rule preview (dryRun): users in Support -> Service-Premium changes nobody"):
            body = srv.admin("POST", "/rules?dryRun=true", self.support_rule(), status=200)
            expect(body.get("dryRun") is True, "dry run answered as such", True, body)
            rules = srv.admin("GET", "/rules")["rules"]
            expect(
                all(r.get("target") != self.gname("Support") for r in rules),
                "a dry run adds no rule",
                "no Support rule",
                rules,
            )
        with self.step("rule added: users in Support -> Service-Premium (always)"):
            body = srv.admin("POST", "/rules", self.support_rule(), status=201)
            self.rule_id = body["rule"]["id"]
        with self.step(
            "group Support created; bob added: the rule grants Service-Premium",
            {"bob": licensed("Sales-Essentials", "Service-Premium")},
            {"service-premium": 1},
        ):
            self.entra_group("support", self.gname("Support"))
            self.group_patch(
                "support", {"op": "Add", "path": "members", "value": [{"value": self.users["bob"]}]}
            )

    def support_rule(self) -> dict:
        return {
            "scope": "in-group",
            "target": self.gname("Support"),
            "targetBy": "displayName",
            "plans": "Service-Premium",
            "mode": "always",
            "description": "scenario: Support gets Service-Premium",
        }

    def entra_rfc_dialect(self) -> None:
        self.section = "entra-aadOptscim062020"
        srv = self.server
        with self.step("test connection with the flag"):
            body = srv.scim(
                "GET", "/Users", query=eq_filter("userName", str(uuid.uuid4())), aad=True
            )
            expect(body["totalResults"] == 0, "test connection: no match", 0, body)
        with self.step("dave: no match -> POST -> match -> GET", {"dave": NONE}):
            self.entra_user("dave", aad=True)
        with self.step("no-path replace with dotted keys and real booleans (dave)", {"dave": NONE}):
            body = self.patch(
                "Users",
                self.users["dave"],
                {
                    "op": "replace",
                    "value": {
                        "name.givenName": "David",
                        "name.familyName": "Rfc",
                        "displayName": "David Rfc",
                        "active": True,
                        f"{ENTERPRISE}:department": "Support",
                        f"{ENTERPRISE}:manager": self.users["carol"],
                    },
                },
                aad=True,
            )
            got = {
                "givenName": body.get("name", {}).get("givenName"),
                "familyName": body.get("name", {}).get("familyName"),
                "displayName": body.get("displayName"),
                "active": body.get("active"),
                "department": body.get(ENTERPRISE, {}).get("department"),
                "manager": (body.get(ENTERPRISE, {}).get("manager") or {}).get("value"),
            }
            want = {
                "givenName": "David",
                "familyName": "Rfc",
                "displayName": "David Rfc",
                "active": True,
                "department": "Support",
                "manager": self.users["carol"],
            }
            expect(got == want, "no-path replace applied", want, got)
        with self.step(
            "add dave and carol to Sales-Premium (lowercase add, one per op)",
            {
                "dave": licensed("Sales-Premium"),
                "carol": licensed("Sales-Premium", "Service-Premium"),
            },
            {"sales-premium": 2, "user": 1, "web": 1},
        ):
            self.group_patch(
                "sales",
                {"op": "add", "path": "members", "value": [{"value": self.users["dave"]}]},
                {"op": "add", "path": "members", "value": [{"value": self.users["carol"]}]},
                aad=True,
            )
        with self.step(
            'remove alice from Service-Essentials + Marketing-Premium: members[value eq "..."]',
            {"alice": licensed("Sales-Premium")},
            {"service-essentials": -1, "marketing-premium": -1},
        ):
            self.group_patch(
                "svc-mkt",
                {"op": "remove", "path": f'members[value eq "{self.users["alice"]}"]'},
                aad=True,
            )
            expect(
                self.members("svc-mkt") == set(),
                "members left",
                [],
                sorted(self.members("svc-mkt")),
            )
        with self.step(
            "rename Finance to Marketing-Essentials: its member carol gets the plan",
            {"carol": licensed("Sales-Premium", "Service-Premium", "Marketing-Essentials")},
            {"marketing-essentials": 1},
        ):
            self.group_patch(
                "finance",
                {"op": "replace", "path": "displayName", "value": "Marketing-Essentials"},
                aad=True,
            )
        with self.step(
            "add dave to Support (rule) in the flag dialect",
            {"dave": licensed("Sales-Premium", "Service-Premium")},
            {"service-premium": 1},
        ):
            self.group_patch(
                "support",
                {"op": "add", "path": "members", "value": [{"value": self.users["dave"]}]},
                aad=True,
            )
        with self.step(
            "rule disabled and enabled again: plans follow",
            {
                "dave": licensed("Sales-Premium", "Service-Premium"),
                "bob": licensed("Sales-Essentials", "Service-Premium"),
            },
        ):
            off = srv.admin("PATCH", f"/rules/{self.rule_id}", {"enabled": False})
            expect(
                any(r["id"] == self.rule_id and r["enabled"] is False for r in off["rules"]),
                "rule disabled",
                False,
                off["rules"],
            )
            self.expect_user("dave", licensed("Sales-Premium"))
            self.expect_user("bob", licensed("Sales-Essentials"))
            srv.admin("PATCH", f"/rules/{self.rule_id}", {"enabled": True})
        with self.step(
            "periodic active=true PATCH (default dialect): no change",
            {
                "alice": licensed("Sales-Premium"),
                "bob": licensed("Sales-Essentials", "Service-Premium"),
            },
        ):
            for label in ("alice", "bob"):
                body = self.patch(
                    "Users", self.users[label], {"op": "Replace", "path": "active", "value": "True"}
                )
                expect(
                    body.get("active") is True, f"{label} still active", True, body.get("active")
                )
        with self.step(
            "periodic active=true PATCH (flag dialect): no change",
            {"dave": licensed("Sales-Premium", "Service-Premium")},
        ):
            self.patch(
                "Users",
                self.users["dave"],
                {"op": "replace", "path": "active", "value": True},
                aad=True,
            )
        with self.step(
            'deactivate alice: Replace active "False" releases everything',
            {"alice": NONE},
            {"sales-premium": -1, "user": -1, "web": -1},
        ):
            body = self.patch(
                "Users", self.users["alice"], {"op": "Replace", "path": "active", "value": "False"}
            )
            expect(body.get("active") is False, "alice inactive", False, body.get("active"))
            expect(
                self.users["alice"] in self.members("sales"),
                "alice stays a group member",
                "member",
                "not a member",
            )
        with self.step(
            "deactivate dave in the flag dialect (real boolean)",
            {"dave": NONE},
            {"sales-premium": -1, "service-premium": -1, "user": -1, "web": -1},
        ):
            self.patch(
                "Users",
                self.users["dave"],
                {"op": "replace", "path": "active", "value": False},
                aad=True,
            )
        with self.step("delete alice (inactive): 204, then GET is a 404 Error"):
            srv.scim("DELETE", f"/Users/{self.users['alice']}", status=204)
            body = srv.scim("GET", f"/Users/{self.users['alice']}", status=404)
            expect(
                ERROR in body.get("schemas", []) and str(body.get("status")) == "404",
                "404 Error body",
                "Error schema, status 404",
                body,
            )
            expect(
                self.users["alice"] not in self.members("sales"),
                "deleted user left its groups",
                "not a member",
                "member",
            )
        with self.step(
            "delete bob (licensed): his seats are released",
            None,
            {"sales-essentials": -1, "service-premium": -1, "user": -1, "web": -1},
        ):
            srv.scim("DELETE", f"/Users/{self.users['bob']}", status=204, aad=True)

    def okta(self) -> None:
        self.section = "okta"
        srv = self.server
        with self.step("test connection GET /Users?count=2&startIndex=1"):
            body = srv.scim("GET", "/Users", query="count=2&startIndex=1")
            self.expect_list(body, "test connection")
            expect(
                len(body.get("Resources", [])) <= 2 and body.get("startIndex") == 1,
                "at most 2 resources from startIndex 1",
                "<= 2, startIndex 1",
                body,
            )
        erin = self.uname("erin", "okta.local")
        with self.step("existence check: no match"):
            expect(self.lookup_user(erin, okta=True) == [], "erin unknown", [], "a match")
        with self.step(
            "create with password and groups: [] (password never returned)", {"erin": NONE}
        ):
            body = srv.scim("POST", "/Users", self.okta_user(erin, "Erin"), status=201)
            expect("password" not in body, "no password in the answer", "no password", body)
            self.users["erin"] = body["id"]
            self.names[body["id"]] = erin
            matched = self.lookup_user(erin.upper(), okta=True)
            expect(
                [u["id"] for u in matched] == [body["id"]],
                "userName lookups are case-insensitive",
                body["id"],
                matched,
            )
        frank = self.uname("frank", "okta.local")
        with self.step("second user frank created", {"frank": NONE}):
            body = srv.scim("POST", "/Users", self.okta_user(frank, "Frank"), status=201)
            self.users["frank"] = body["id"]
            self.names[body["id"]] = frank
        with self.step("group push: POST Marketing-Premium with members: []"):
            name = "Marketing-Premium"
            found = self.lookup_group(name)
            expect(found == [], "no group Marketing-Premium yet", [], found)
            body = srv.scim(
                "POST",
                "/Groups",
                {"schemas": [GROUP], "displayName": name, "members": []},
                status=201,
            )
            self.groups["mkt"] = body["id"]
        with self.step("no-path replace of id + displayName: no change"):
            self.group_patch(
                "mkt",
                {
                    "op": "replace",
                    "value": {"id": self.groups["mkt"], "displayName": "Marketing-Premium"},
                },
            )
        with self.step(
            "add erin with value + display",
            {"erin": licensed("Marketing-Premium"), "frank": NONE},
            {"marketing-premium": 1, "user": 1, "web": 1},
        ):
            self.group_patch(
                "mkt",
                {
                    "op": "replace",
                    "value": {"id": self.groups["mkt"], "displayName": "Marketing-Premium"},
                },
                {
                    "op": "add",
                    "path": "members",
                    "value": [{"value": self.users["erin"], "display": erin}],
                },
            )
        with self.step(
            "GET then PUT the whole object back (id, groups, meta, password, extension)",
            {"erin": licensed("Marketing-Premium")},
        ):
            got = srv.scim("GET", f"/Users/{self.users['erin']}")
            expect(
                [g.get("value") for g in got.get("groups", [])] == [self.groups["mkt"]],
                "erin's groups",
                [self.groups["mkt"]],
                got.get("groups"),
            )
            whole = dict(got)
            whole["name"] = {"givenName": "Another", "middleName": "Excited", "familyName": "User"}
            whole["password"] = "1mz050nq"
            body = srv.scim("PUT", f"/Users/{self.users['erin']}", whole)
            expect(
                body.get("name", {}).get("middleName") == "Excited" and "password" not in body,
                "PUT applied, no password returned",
                "middleName Excited",
                body,
            )
        with self.step(
            "PUT with groups: [] keeps the memberships (groups is read-only)",
            {"erin": licensed("Marketing-Premium")},
        ):
            got = srv.scim("GET", f"/Users/{self.users['erin']}")
            body = {k: v for k, v in got.items() if k != LICENSING}
            body["schemas"] = [s for s in got["schemas"] if s != LICENSING]
            body["groups"] = []
            srv.scim("PUT", f"/Users/{self.users['erin']}", body)
            expect(
                self.members("mkt") == {self.users["erin"]},
                "members kept",
                [self.users["erin"]],
                sorted(self.members("mkt")),
            )
        with self.step(
            'remove erin with members[value eq "..."], add frank',
            {"erin": NONE, "frank": licensed("Marketing-Premium")},
        ):
            self.group_patch(
                "mkt",
                {"op": "remove", "path": f'members[value eq "{self.users["erin"]}"]'},
                {
                    "op": "add",
                    "path": "members",
                    "value": [{"value": self.users["frank"], "display": frank}],
                },
            )
        with self.step(
            "full replace of members: erin and frank",
            {"erin": licensed("Marketing-Premium"), "frank": licensed("Marketing-Premium")},
            {"marketing-premium": 1, "user": 1, "web": 1},
        ):
            self.group_patch(
                "mkt",
                {
                    "op": "replace",
                    "path": "members",
                    "value": [
                        {"value": self.users["erin"], "display": erin},
                        {"value": self.users["frank"], "display": frank},
                    ],
                },
            )
        with self.step(
            "rename Okta group to a non-plan name and back",
            {"erin": licensed("Marketing-Premium"), "frank": licensed("Marketing-Premium")},
        ):
            self.group_patch(
                "mkt",
                {
                    "op": "replace",
                    "value": {
                        "id": self.groups["mkt"],
                        "displayName": self.gname("Okta-Marketing"),
                    },
                },
            )
            self.expect_user("erin", NONE)
            self.group_patch(
                "mkt",
                {
                    "op": "replace",
                    "value": {"id": self.groups["mkt"], "displayName": "Marketing-Premium"},
                },
            )
        with self.step(
            'deactivate frank: PATCH no-path replace {"active": false}',
            {"frank": NONE, "erin": licensed("Marketing-Premium")},
            {"marketing-premium": -1, "user": -1, "web": -1},
        ):
            body = self.patch(
                "Users", self.users["frank"], {"op": "replace", "value": {"active": False}}
            )
            expect(body.get("active") is False, "frank inactive", False, body.get("active"))
        with self.step(
            "reactivate frank by PUT with active true",
            {"frank": licensed("Marketing-Premium")},
            {"marketing-premium": 1, "user": 1, "web": 1},
        ):
            got = srv.scim("GET", f"/Users/{self.users['frank']}")
            got["active"] = True
            srv.scim("PUT", f"/Users/{self.users['frank']}", got)
        with self.step(
            "group DELETE on unlink: members lose the plan",
            {"erin": NONE, "frank": NONE},
            {"marketing-premium": -2, "user": -2, "web": -2},
        ):
            srv.scim("DELETE", f"/Groups/{self.groups['mkt']}", status=204)
            srv.scim("GET", f"/Groups/{self.groups['mkt']}", status=404)

    def okta_user(self, user_name: str, given: str) -> dict:
        return {
            "schemas": [USER],
            "userName": user_name,
            "name": {"givenName": given, "familyName": "Okta"},
            "emails": [{"primary": True, "value": user_name, "type": "work"}],
            "displayName": f"{given} Okta",
            "locale": "en-US",
            "externalId": uuid.uuid4().hex[:20],
            "groups": [],
            "password": "1mz050nq",
            "active": True,
        }

    def seat_shortage(self) -> None:
        self.section = "seat-shortage"
        srv = self.server
        plan, module = "Marketing-Premium", "marketing-premium"
        free = srv.seats()[module]["free"]
        if srv.seats()[module]["unrestricted"]:
            raise ScenarioFailed(f"{module} is unrestricted: no shortage possible on this tenant")
        if free < 3:
            raise ScenarioFailed(f"{module}: {free} seats free; the shortage needs at least 3")
        n = free + 2
        labels = [f"short{i:02d}" for i in range(n)]
        with self.step(
            f"{n} users created (Okta), {free} seats free for {plan}",
            {label: NONE for label in labels},
        ):
            for label in labels:
                name = self.uname(label, "okta.local")
                body = srv.scim("POST", "/Users", self.okta_user(name, label), status=201)
                self.users[label] = body["id"]
                self.names[body["id"]] = name
        with self.step(f"group push {plan}", None):
            body = srv.scim(
                "POST",
                "/Groups",
                {"schemas": [GROUP], "displayName": plan, "members": []},
                status=201,
            )
            self.groups["short"] = body["id"]
        first, waiting = labels[:free], labels[free:]
        with self.step(
            f"add {n} members one request each: {free} licensed, 2 pending",
            {
                **{label: licensed(plan) for label in first},
                **{label: pending([plan], reason=plan) for label in waiting},
            },
            {module: free, "user": free, "web": free},
        ):
            for label in labels:
                self.group_patch(
                    "short",
                    {
                        "op": "add",
                        "path": "members",
                        "value": [
                            {"value": self.users[label], "display": self.names[self.users[label]]}
                        ],
                    },
                )
            self.expect_pending_count(2)
            seats = srv.seats()[module]
            expect(
                seats["free"] == 0 and seats["inUse"] == seats["bought"],
                "the plan is full, never over",
                "free 0, inUse == bought",
                seats,
            )
        with self.step(
            "deactivate a licensed user: the first waiting one gets the seat",
            {first[0]: NONE, waiting[0]: licensed(plan), waiting[1]: pending([plan], reason=plan)},
        ):
            self.patch("Users", self.users[first[0]], {"op": "replace", "value": {"active": False}})
            self.expect_pending_count(1)
        with self.step(
            "delete a licensed user: the next waiting one gets the seat",
            {waiting[1]: licensed(plan)},
        ):
            srv.scim("DELETE", f"/Users/{self.users[first[1]]}", status=204)
            self.expect_pending_count(0)
        with self.step(
            "reactivate the first user: now it waits",
            {first[0]: pending([plan], reason=plan)},
        ):
            self.patch(
                "Users", self.users[first[0]], {"op": "Replace", "path": "active", "value": "True"}
            )
            self.expect_pending_count(1)
        with self.step(
            "remove a licensed member: the reactivated user gets the seat",
            {first[2]: NONE, first[0]: licensed(plan)},
        ):
            self.group_patch(
                "short", {"op": "remove", "path": f'members[value eq "{self.users[first[2]]}"]'}
            )
            self.expect_pending_count(0)
        with self.step(
            "group DELETE releases every seat of the group",
            {label: NONE for label in labels if label != first[1]},
            {module: -free, "user": -free, "web": -free},
        ):
            srv.scim("DELETE", f"/Groups/{self.groups['short']}", status=204)

    def expect_pending_count(self, n: int) -> None:
        flt = f'{LICENSING}:state eq "pending" and userName sw "sc-{self.run}-"'
        got = self.server.count(flt)
        expect(got == n, f"users found by filter {flt!r}", n, got)

    # -- the large run --

    def large(self, n_users: int, n_groups: int, seed: int, limit: float) -> None:
        self.section = "large"
        srv = self.server
        rng = random.Random(seed)
        deadline = time.monotonic() + limit

        def in_time(what: str) -> None:
            if time.monotonic() > deadline:
                raise ScenarioFailed(f"time limit of {limit:.0f}s exceeded while {what}")

        candidates = [
            "Sales-Essentials",
            self.gname("LR-Support"),  # a second rule's target
            "service-premium",
            self.gname("LR-team-00"),
            "Marketing-Essentials + Sales-Premium",
            "Sales-Essentials + Service-Essentials + Marketing-Essentials",
            self.gname("LR-team-01"),
            "SERVICE-ESSENTIALS",
            "Sales-Essentials + Sales-Premium",  # two tiers of one solution: not a plan
        ]
        names = candidates + [self.gname(f"LR-team-{i:02d}") for i in range(2, n_groups)]
        names = names[:n_groups]
        # Plan-named groups may exist on this tenant already: Entra matches then.
        group_ids: dict[str, str] = {}
        t0 = time.monotonic()
        with self.step(f"{n_groups} groups looked up and created where missing", check_seats=False):
            for name in names:
                found = self.lookup_group(name)
                if found:
                    group_ids[name] = found[0]["id"]
                    continue
                body = srv.scim(
                    "POST",
                    "/Groups",
                    {"schemas": [GROUP, ADSCIM_GROUP], "displayName": name},
                    status=201,
                )
                group_ids[name] = body["id"]
        existing = {name: self.members_of(group_ids[name]) for name in names}
        with self.step(
            "rule: users in LR-Support -> Sales-Premium (if-not-set)", check_seats=False
        ):
            srv.admin(
                "POST",
                "/rules",
                {
                    "scope": "in-group",
                    "target": self.gname("LR-Support"),
                    "plans": "Sales-Premium",
                    "mode": "if-not-set",
                },
                status=201,
            )
        rules = [(self.gname("LR-Support").casefold(), ("Sales-Premium",), "if-not-set")]
        if self.gname("LR-Support") not in names:
            rules = []

        # Seeded memberships, roles and deactivations: the same run every time.
        membership: dict[int, list[str]] = {}
        roles: dict[int, list[str]] = {}
        inactive: set[int] = set()
        for u in range(n_users):
            k = rng.choices([0, 1, 2, 3], weights=[20, 45, 25, 10])[0]
            membership[u] = rng.sample(names, k)
            roles[u] = ["Service-Essentials"] if rng.random() < 0.05 else []
            if rng.random() < 0.04:
                inactive.add(u)
        ids: dict[int, str] = {}
        with self.step(f"{n_users} users created through POST /Users", check_seats=False):
            for u in range(n_users):
                in_time(f"creating user {u} of {n_users}")
                name = self.uname(f"lr{u:05d}")
                body = srv.scim(
                    "POST",
                    "/Users",
                    {
                        "schemas": [USER],
                        "userName": name,
                        "externalId": f"lr-{self.run}-{u}",
                        "active": True,
                        "roles": [
                            {"value": r, "type": "WindowsAzureActiveDirectoryRole"}
                            for r in roles[u]
                        ],
                    },
                    status=201,
                )
                ids[u] = body["id"]
        t_users = time.monotonic() - t0
        with self.step(
            "members added (Entra: one PATCH per group, up to 50 per op)", check_seats=False
        ):
            by_group: dict[str, list[str]] = {name: [] for name in names}
            for u in range(n_users):
                for name in membership[u]:
                    by_group[name].append(ids[u])
            for name in names:
                members = by_group[name]
                for start in range(0, len(members), 50):
                    in_time(f"adding members to {name!r}")
                    chunk = members[start : start + 50]
                    self.patch(
                        "Groups",
                        group_ids[name],
                        {"op": "Add", "path": "members", "value": [{"value": m} for m in chunk]},
                        status=204,
                    )
        with self.step(f"{len(inactive)} users deactivated (seeded)", check_seats=False):
            for u in sorted(inactive):
                in_time("deactivating")
                self.patch("Users", ids[u], {"op": "Replace", "path": "active", "value": "False"})
        t_load = time.monotonic() - t0

        with self.step("invariant: /check is consistent after the load"):
            pass
        # Expected requested plans per user, from the names (zero configuration) and the rule.
        group_plans = {name: parse_plans(name) or () for name in names}
        with self.step("every user's requestedPlans/state/planCombination as its groups say"):
            users = srv.list_all(f'userName sw "sc-{self.run}-lr"', page=1000)
            expect(len(users) == n_users, "large-run users listed", n_users, len(users))
            by_id = {u["id"]: u for u in users}
            seats = srv.seats()
            for u in range(n_users):
                in_time("checking users")
                user = by_id[ids[u]]
                view = user.get(LICENSING, {})
                if u in inactive:
                    expect(
                        view == {"state": "none"},
                        f"inactive user lr{u:05d}",
                        {"state": "none"},
                        view,
                    )
                    continue
                # Users of groups this tenant had already are not modelled: skip them.
                if any(existing[name] for name in membership[u]):
                    continue
                wanted = merge(
                    *(group_plans[name] for name in membership[u]),
                    *(parse_plans(r) or () for r in roles[u]),
                )
                for target, plans, mode in rules:
                    member = target in {n.casefold() for n in membership[u]}
                    if member and (mode == "always" or not wanted):
                        wanted = merge(wanted, plans)
                self.check_large_user(f"lr{u:05d}", view, wanted, seats)
        with self.step(
            "freed seats go to users waiting for them (3 holders deactivated)", check_seats=False
        ):
            plan, waiting = self.most_wanted_plan()
            if waiting:
                k = min(3, len(waiting))
                flt = f'{LICENSING}:basePlans eq "{plan}" and userName sw "sc-{self.run}-lr"'
                found = srv.scim("GET", "/Users", query=f"filter={_q(flt)}&count={k}")
                holders = found.get("Resources", [])
                expect(len(holders) == k, f"{k} large-run holders of {plan}", k, len(holders))
                before = srv.seats()
                bought = before[plan.lower()]
                for holder in holders:
                    in_time("deactivating holders")
                    self.patch("Users", holder["id"], {"op": "replace", "value": {"active": False}})
                after = srv.seats()[plan.lower()]
                _, still = self.most_wanted_plan(plan)
                expect(
                    after["inUse"] == bought["inUse"] and len(still) == len(waiting) - k,
                    f"{plan}: the {k} freed seats are taken by {k} of {len(waiting)} waiting",
                    {"inUse": bought["inUse"], "waiting": len(waiting) - k},
                    {"inUse": after["inUse"], "waiting": len(still)},
                )
                served = {u["id"] for u in waiting} - {u["id"] for u in still}
                # Each deactivated holder gives back user/web; a served user takes
                # them only if no plan it held already had them.
                newcomers = sum(
                    "user" not in (u[LICENSING].get("licenses") or [])
                    for u in waiting
                    if u["id"] in served
                )
                now = srv.seats()
                for module in ("user", "web"):
                    expect(
                        now[module]["inUse"] == before[module]["inUse"] - k + newcomers,
                        f"{module}: {k} released by the holders, {newcomers} taken by the served",
                        before[module]["inUse"] - k + newcomers,
                        now[module]["inUse"],
                    )
                for user_id in served:
                    view = srv.licensing(user_id)
                    expect(
                        plan in (view.get("basePlans") or []),
                        "a served user holds the plan",
                        plan,
                        view,
                    )
        with self.step("pay-per-use: users per plan (basePlans filter) equal inUse"):
            seats = srv.seats()
            counted = {p: srv.count(f'{LICENSING}:basePlans eq "{p}"') for p in PLANS}
            want = {p: seats[p.lower()]["inUse"] for p in PLANS}
            expect(counted == want, "users per plan versus inUse", want, counted)
        with self.step(
            "pay-per-use: users per planCombination add up to inUse per plan and user/web"
        ):
            seats = srv.seats()
            per_combo = {
                c: srv.count(f'{LICENSING}:planCombination eq "{combo_name(c)}"')
                for c in ALL_COMBINATIONS
            }
            summed = {p: sum(n for c, n in per_combo.items() if p in c) for p in PLANS}
            want = {p: seats[p.lower()]["inUse"] for p in PLANS}
            expect(
                summed == want, "per-combination counts summed per plan versus inUse", want, summed
            )
            holders = sum(per_combo.values())
            got = {"user": seats["user"]["inUse"], "web": seats["web"]["inUse"]}
            expect(
                got == {"user": holders, "web": holders},
                "users holding any plan versus inUse of user and web",
                {"user": holders, "web": holders},
                got,
            )
            self.out(
                "   combinations in use: "
                + ", ".join(f"{combo_name(c)}={n}" for c, n in per_combo.items() if n)
            )
        with self.step("no over-assignment and no pending user waits for a free seat"):
            seats = srv.seats()
            over = {
                m: s for m, s in seats.items() if not s["unrestricted"] and s["inUse"] > s["bought"]
            }
            expect(not over, "no module over-assigned", {}, over)
            waiting = srv.list_all(f'{LICENSING}:state eq "pending"', page=1000)
            for user in waiting:
                view = user[LICENSING]
                missing = set(parse_plans(view["requestedPlans"]) or ()) - set(
                    view.get("basePlans") or ()
                )
                free = {p: seats[p.lower()]["free"] for p in missing}
                expect(
                    missing and all(f == 0 for f in free.values()) and view.get("reason"),
                    f"pending user {user['userName']} waits only for full plans, with a reason",
                    "missing plans with free == 0",
                    {"view": view, "free": free},
                )
            self.out(
                f"   {len(waiting)} users pending, load {t_load:.1f}s "
                f"(users {t_users:.1f}s), {srv.requests} requests so far"
            )

    def most_wanted_plan(self, plan: str | None = None) -> tuple[str, list[dict]]:
        """The plan most pending users wait for (or ``plan``), and those users."""
        by_plan: dict[str, list[dict]] = {p: [] for p in PLANS}
        for user in self.server.list_all(f'{LICENSING}:state eq "pending"', page=1000):
            view = user[LICENSING]
            granted = set(view.get("basePlans") or ())
            for missing in set(parse_plans(view.get("requestedPlans", "")) or ()) - granted:
                by_plan[missing].append(user)
        if plan is None:
            plan = max(PLANS, key=lambda p: len(by_plan[p]))
        return plan, by_plan[plan]

    def members_of(self, group_id: str) -> set[str]:
        body = self.server.scim("GET", f"/Groups/{group_id}")
        return {m["value"] for m in body.get("members", [])}

    def check_large_user(self, label: str, view: dict, wanted: tuple[str, ...], seats) -> None:
        who = f"user {label}"
        if not wanted:
            expect(view == {"state": "none"}, f"{who}: no plan asked for", {"state": "none"}, view)
            return
        expect(
            view.get("requestedPlans") == combo_name(wanted),
            f"{who}: requestedPlans",
            combo_name(wanted),
            view,
        )
        granted = tuple(view.get("basePlans") or ())
        expect(set(granted) <= set(wanted), f"{who}: granted within requested", wanted, view)
        if view.get("state") == "licensed":
            expect(
                granted == wanted and view.get("planCombination") == combo_name(wanted),
                f"{who}: licensed holds all it asked for",
                combo_name(wanted),
                view,
            )
        else:
            expect(
                view.get("state") == "pending" and granted != wanted and view.get("reason"),
                f"{who}: pending, short of a plan, with a reason",
                "pending",
                view,
            )
        licenses = set(view.get("licenses") or ())
        expect(
            {p.lower() for p in granted} == licenses & set(PLAN_MODULES)
            and (not granted or {"user", "web"} <= licenses),
            f"{who}: licenses match basePlans",
            sorted(granted),
            sorted(licenses),
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", required=True, help="server root, e.g. http://127.0.0.1:8000")
    parser.add_argument("--tenant", required=True)
    # Tokens may start with "-": pass them as --token=T, or in the environment.
    parser.add_argument(
        "--token",
        default=os.environ.get("CONFORMANCE_TOKEN"),
        help="the tenant's SCIM bearer token [env CONFORMANCE_TOKEN]",
    )
    parser.add_argument(
        "--operator-token",
        default=os.environ.get("CONFORMANCE_OPERATOR_TOKEN"),
        help="an operator token for the admin API [env CONFORMANCE_OPERATOR_TOKEN]",
    )
    parser.add_argument("--large-users", type=int, default=1000, help="0 skips the large run")
    parser.add_argument("--large-groups", type=int, default=20)
    parser.add_argument("--seed", type=int, default=20240601, help="large-run memberships")
    parser.add_argument("--large-time-limit", type=float, default=900.0, help="seconds")
    parser.add_argument("--timeout", type=float, default=30.0, help="per request, seconds")
    parser.add_argument("--run-id", default=None, help="name prefix (default: random)")
    args = parser.parse_args(argv)
    if not args.token or not args.operator_token:
        parser.error("--token and --operator-token (or their environment variables) are required")
    if args.large_users < 0 or not 1 <= args.large_groups <= 200:
        parser.error("--large-users >= 0 and 1 <= --large-groups <= 200")

    run_id = args.run_id or uuid.uuid4().hex[:8]
    server = Server(args.root, args.tenant, args.token, args.operator_token, args.timeout)
    scenarios = Scenarios(server, run_id)
    started = time.monotonic()
    try:
        scenarios.run_all(args.large_users, args.large_groups, args.seed, args.large_time_limit)
    except ScenarioFailed as exc:
        print(f"FAIL {exc}", flush=True)
        print(
            f"scenarios: FAILED after {scenarios.steps} passed steps "
            f"({server.requests} requests, {time.monotonic() - started:.1f}s, run {run_id})"
        )
        for seconds, request in server.slowest:
            print(f"   slow: {seconds:.2f}s {request[:200]}")
        return 1
    finally:
        server.close()
    per = ", ".join(f"{name} {n}" for name, n in scenarios.section_steps.items())
    print(
        f"scenarios: {scenarios.steps} steps passed ({per}); {server.requests} requests; "
        f"{len(scenarios.users)} named users; large run {args.large_users} users / "
        f"{args.large_groups} groups; {time.monotonic() - started:.1f}s; run {run_id}"
    )
    for seconds, request in server.slowest:
        print(f"   slow: {seconds:.2f}s {request[:200]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

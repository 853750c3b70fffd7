"""Fuzz the SCIM API with hypothesis, on SQLite and PostgreSQL.

Filters, query parameters, ``/.search`` bodies, POST/PUT bodies, PATCH bodies
and path ids, valid-ish and junk (``tests/fuzz_strategies.py``), against the
real app in-process. Every request must answer below 500; a 4xx must be a
SCIM Error whose ``status`` is the HTTP status and must change nothing in the
tenant (a snapshot of its users, groups, versions, memberships, links and
ledger before and after); after every example the tenant must pass its
consistency check.

Knobs (environment):

* ``SCIMSRV_FUZZ_EXAMPLES`` (default 40): examples per test per database.
* ``SCIMSRV_FUZZ_SHRINK=1``: let hypothesis shrink a failing example (off by
  default: today's failures would spend the CI budget on shrinking).
* ``SCIMSRV_FUZZ_REPORT=FILE``: collect mode for long runs: every failing
  request is appended to FILE as one JSON line instead of failing the test,
  and the request counts go there at the end; ``tests/FUZZ_FINDINGS.md`` was
  made this way.
* ``HYPOTHESIS_PROFILE=dev``: random instead of the derandomized CI examples.

``test_fuzz_finding`` replays the smallest request of each kind of failure
catalogued in ``tests/FUZZ_FINDINGS.md`` with the same checks, one case per
kind and database, so a fix shows up as a passing case.

Run only these: ``pytest -m fuzz``; leave them out: ``pytest -m "not fuzz"``;
only the known findings: ``pytest tests/test_fuzz.py -k finding``.
A summary of requests, 2xx, 4xx and 5xx per database is printed at the end.
"""

from __future__ import annotations

import json
import logging
import os
import traceback
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from hypothesis import HealthCheck, Phase, given, reject, settings
from hypothesis import strategies as st

from tests import fuzz_strategies as fs
from tests.fuzz_app import PROJECT_DIRS, SERVER_LOGGER, open_tenant, snapshot

pytestmark = pytest.mark.fuzz

EXAMPLES = int(os.environ.get("SCIMSRV_FUZZ_EXAMPLES", "40"))
REPORT = os.environ.get("SCIMSRV_FUZZ_REPORT")
SHRINK = os.environ.get("SCIMSRV_FUZZ_SHRINK") == "1"

ERROR_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:Error"

fuzz_settings = settings(
    max_examples=EXAMPLES,
    deadline=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate, *([Phase.shrink] if SHRINK else [])],
    suppress_health_check=list(HealthCheck),
)

# Requests sent by the fuzz tests (not the set-up and clean-up), per database.
STATS: dict[str, Counter] = {}


class FuzzFailure(AssertionError):
    pass


# --------------------------------------------------------------------------- server log


class _ServerErrors(logging.Handler):
    """Keeps the exceptions the app logs while one request runs."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info:
            self.records.append(record)


SERVER_ERRORS = _ServerErrors()


def _describe(exc_info) -> dict[str, str]:
    """The traceback's last line and the innermost frame in the project."""
    _type, exc, tb = exc_info
    # The exception's first line: drivers append the SQL and its parameters.
    last = traceback.format_exception_only(exc)[-1].strip().split("\n")[0]
    frames = traceback.extract_tb(tb)
    ours = [f for f in frames if f.filename.startswith(PROJECT_DIRS)]
    where = ours[-1] if ours else (frames[-1] if frames else None)
    at = f"{where.filename.rsplit('/', 2)[-2]}/{where.filename.rsplit('/', 1)[-1]}" if where else ""
    described = {
        "exception": last[:400],
        "type": f"{type(exc).__module__}.{type(exc).__name__}",
        "where": f"{at}:{where.lineno} {where.name}" if where else "",
    }
    cause = getattr(exc, "orig", None)  # the driver's error under SQLAlchemy's
    if cause is not None:
        first = str(cause).strip().split("\n")[0]
        described["cause"] = f"{type(cause).__module__}.{type(cause).__name__}: {first}"[:400]
    return described


# --------------------------------------------------------------------------- the fuzzer


def _short(value: Any, limit: int = 600) -> str:
    return fs.short_repr(value, limit)


def _replace(value: Any, ids: dict[str, str]) -> Any:
    """``value`` with every placeholder, in any string at any depth, replaced."""
    if isinstance(value, str):
        for placeholder, real in ids.items():
            value = value.replace(placeholder, real)
        return value
    if isinstance(value, list):
        return [_replace(v, ids) for v in value]
    if isinstance(value, dict):
        return {_replace(k, ids): _replace(v, ids) for k, v in value.items()}
    return value


class Fuzzer:
    """One tenant under fuzz: sends requests, checks every answer, keeps the
    tenant in the same state from one example to the next."""

    def __init__(self, tenant, backend: str, test: str) -> None:
        self.tenant = tenant
        self.backend = backend
        self.test = test
        self.stats = STATS.setdefault(backend, Counter())
        self.examples = 0
        self.ids: dict[str, str] = {}
        self.created: list[str] = []  # paths of resources to delete after the example
        self.inconsistent = False
        seed = self._ok("POST", "/Users", {"schemas": [fs.USER], "userName": "seed-user"})
        self.ids[fs.SEED_USER] = seed["id"]
        group = self._ok(
            "POST",
            "/Groups",
            {
                "schemas": [fs.GROUP],
                "displayName": "Sales-Premium",
                "members": [{"value": seed["id"]}],
            },
        )
        self.seed_group = group["id"]

    # ---- harness requests: must succeed, not counted

    def _ok(self, method: str, path: str, body: Any = None) -> Any:
        response = self.tenant.request(method, path, body)
        if response.status_code >= 300 and not (method == "DELETE" and response.status_code == 404):
            raise RuntimeError(
                f"set-up {method} {path} failed: {response.status_code} {response.text}"
            )
        return response.json() if response.content else None

    @contextmanager
    def example(self, targets: bool = True) -> Iterator[None]:
        """One example: fresh target resources (a user in a group) to aim at,
        everything made during the example deleted after it, then the
        tenant's consistency check."""
        self.examples += 1
        n = self.examples
        self.created = []
        if targets:
            user = self._ok("POST", "/Users", {"schemas": [fs.USER], "userName": f"target-{n}"})
            group = self._ok(
                "POST",
                "/Groups",
                {
                    "schemas": [fs.GROUP],
                    "displayName": f"team-{n}",
                    "members": [{"value": user["id"]}],
                },
            )
            self.ids[fs.TARGET_USER], self.ids[fs.TARGET_GROUP] = user["id"], group["id"]
            self.created += [f"/Groups/{group['id']}", f"/Users/{user['id']}"]
        else:
            self.ids[fs.TARGET_USER] = self.ids[fs.SEED_USER]
            self.ids[fs.TARGET_GROUP] = self.seed_group
        try:
            yield
        finally:
            for path in reversed(self.created):
                self._ok("DELETE", path)
            self.check_consistent()

    def check_consistent(self) -> None:
        if self.inconsistent:
            return  # reported once; what follows would repeat it
        problems = self.tenant.problems()
        if problems:
            self.inconsistent = True
            self.fail(
                {"problem": "tenant inconsistent", "detail": problems[:5]},
                "(consistency check after the example)",
            )

    # ---- fuzz requests: counted and checked

    def send(
        self,
        method: str,
        endpoint: str,
        path: str,
        *,
        params: dict[str, str] | None = None,
        body: Any = None,
        raw: bytes | None = None,
    ):
        """Send one request (``path`` and every string in ``params`` and
        ``body`` with the placeholders replaced) and check its answer.

        ``endpoint`` names the route for the report (``PATCH /Users/{id}``);
        ``raw`` is a body sent as bytes instead of ``body`` as JSON.
        """
        path = _replace(path, self.ids)
        params = _replace(params, self.ids) if params else None
        content = raw
        if raw is None and body is not None:
            body = _replace(body, self.ids)
            content = json.dumps(body).encode()
        headers = dict(self.tenant.headers)
        if content is not None:
            headers["Content-Type"] = "application/scim+json"
        write = method not in ("GET", "HEAD")
        before = snapshot(self.tenant.db, self.tenant.tenant_id) if write else None
        url = self.tenant.base + path
        if params:
            # Encoded here: a lone surrogate goes out as the (invalid UTF-8)
            # bytes a careless client would send, not as a client-side error.
            url += "?" + urlencode(params, errors="surrogatepass")
        SERVER_ERRORS.records.clear()
        try:
            response = self.tenant.client.request(method, url, content=content, headers=headers)
        except Exception as exc:
            if type(exc).__name__ == "InvalidURL":  # longer than the HTTP client sends
                reject()
            raise
        status = response.status_code
        self.stats["requests"] += 1
        self.stats[f"{status // 100}xx"] += 1
        problems: dict[str, Any] = {}
        if status >= 500:
            problems["problem"] = f"{status} answered"
        elif status >= 400:
            problems = self._error_problems(response, method)
            if not problems and write:
                after = snapshot(self.tenant.db, self.tenant.tenant_id)
                if after != before:
                    changed = sorted(k for k in after if after[k] != before[k])
                    problems = {"problem": f"{status} changed the tenant", "detail": changed}
        elif status < 300 and response.content and method != "HEAD":
            try:
                answer = response.json()
            except ValueError:
                problems = {"problem": f"{status} with a body that is not JSON"}
            else:
                if method == "POST" and status == 201 and isinstance(answer, dict):
                    self.created.append(f"{endpoint.split()[1]}/{answer.get('id')}")
        if problems:
            request = {
                "method": method,
                "endpoint": endpoint,
                "path": _short(path, 300),
                "params": _short(params) if params else None,
                "body": _short(raw if raw is not None else body) if content is not None else None,
            }
            self.fail({"status": status, **problems}, request)
        return response

    def _error_problems(self, response, method: str) -> dict[str, Any]:
        if method == "HEAD":
            return {}
        try:
            body = response.json()
        except ValueError:
            return {"problem": "4xx body is not JSON", "detail": response.text[:200]}
        if not isinstance(body, dict) or ERROR_SCHEMA not in (body.get("schemas") or []):
            return {"problem": "4xx body is not a SCIM Error", "detail": _short(body, 200)}
        if body.get("status") != str(response.status_code):
            return {
                "problem": "4xx Error status differs from the HTTP status",
                "detail": f"{body.get('status')!r} vs {response.status_code}",
            }
        return {}

    def fail(self, problem: dict[str, Any], request: Any) -> None:
        record = {"backend": self.backend, "test": self.test, **problem, "request": request}
        if SERVER_ERRORS.records:
            record.update(_describe(SERVER_ERRORS.records[-1].exc_info))
            SERVER_ERRORS.records.clear()
        if REPORT:
            with open(REPORT, "a", encoding="utf-8") as out:
                out.write(json.dumps(record, ensure_ascii=True) + "\n")
            return
        raise FuzzFailure(json.dumps(record, indent=2, ensure_ascii=True))


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module", autouse=True)
def fuzz_summary(request):
    """Capture the app's logged exceptions; print the request counts at the end."""
    logger = logging.getLogger(SERVER_LOGGER)
    logger.addHandler(SERVER_ERRORS)
    yield
    logger.removeHandler(SERVER_ERRORS)
    if not STATS:
        return
    lines = ["fuzz requests per database:"]
    for backend, counts in STATS.items():
        lines.append(
            f"  {backend:8} requests={counts['requests']} 2xx={counts['2xx']}"
            f" 3xx={counts['3xx']} 4xx={counts['4xx']} 5xx={counts['5xx']}"
        )
    if REPORT:
        with open(REPORT, "a", encoding="utf-8") as out:
            out.write(json.dumps({"summary": STATS}) + "\n")
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    if reporter is not None and capture is not None:
        with capture.global_and_fixture_disabled():
            reporter.write_line("")
            for line in lines:
                reporter.write_line(line)
    else:
        print("\n".join(lines))


@pytest.fixture
def fuzz(db, backend, tenant_id, request) -> Fuzzer:
    return Fuzzer(open_tenant(db, tenant_id), backend, request.node.originalname)


KINDS = st.sampled_from(["Users", "Groups"])

# --------------------------------------------------------------------------- reads


@fuzz_settings
@given(kind=KINDS, how=st.sampled_from(["GET", ".search", "/.search"]), text=fs.shown(fs.filters))
def test_fuzz_filters(fuzz, kind, how, text):
    text = text.value
    with fuzz.example(targets=False):
        if how == "GET":
            fuzz.send("GET", f"GET /{kind}", f"/{kind}", params={"filter": text})
        elif how == ".search":
            body = {"schemas": [fs.SEARCH], "filter": text}
            fuzz.send("POST", f"POST /{kind}/.search", f"/{kind}/.search", body=body)
        else:
            fuzz.send("POST", "POST /.search", "/.search", body={"filter": text})


@fuzz_settings
@given(kind=KINDS, item=st.booleans(), params=fs.shown(fs.query_params))
def test_fuzz_query_parameters(fuzz, kind, item, params):
    params = params.value
    with fuzz.example(targets=False):
        if item:
            target = fs.SEED_USER if kind == "Users" else fs.TARGET_GROUP
            fuzz.send("GET", f"GET /{kind}/{{id}}", f"/{kind}/{target}", params=params)
        else:
            fuzz.send("GET", f"GET /{kind}", f"/{kind}", params=params)


@fuzz_settings
@given(where=st.sampled_from(["/Users", "/Groups", ""]), body=fs.shown(fs.search_bodies))
def test_fuzz_search_bodies(fuzz, where, body):
    body = body.value
    with fuzz.example(targets=False):
        fuzz.send("POST", f"POST {where}/.search", f"{where}/.search", body=body)


# --------------------------------------------------------------------------- writes


def per_kind(make) -> st.SearchStrategy[tuple[str, fs.Shown]]:
    """(kind, drawn) with ``drawn`` from ``make(kind)``, for Users and Groups."""
    strategies = {kind: fs.shown(make(kind)) for kind in ("Users", "Groups")}
    return st.sampled_from(sorted(strategies)).flatmap(
        lambda kind: st.tuples(st.just(kind), strategies[kind])
    )


def _bodies(kind: str):
    """(body, None) with a JSON body, or (None, bytes) with a raw one."""
    return fs.weighted(
        (6, fs.resource_bodies(kind).map(lambda b: (b, None))),
        (1, fs.raw_bodies.map(lambda r: (None, r))),
    )


@fuzz_settings
@given(case=per_kind(_bodies))
def test_fuzz_create(fuzz, case):
    kind, (body, raw) = case[0], case[1].value
    with fuzz.example(targets=False):
        fuzz.send("POST", f"POST /{kind}", f"/{kind}", body=body, raw=raw)


@fuzz_settings
@given(case=per_kind(_bodies))
def test_fuzz_replace(fuzz, case):
    kind, (body, raw) = case[0], case[1].value
    target = fs.TARGET_USER if kind == "Users" else fs.TARGET_GROUP
    with fuzz.example():
        fuzz.send("PUT", f"PUT /{kind}/{{id}}", f"/{kind}/{target}", body=body, raw=raw)


@fuzz_settings
@given(case=per_kind(fs.patch_bodies))
def test_fuzz_patch(fuzz, case):
    kind, body = case[0], case[1].value
    target = fs.TARGET_USER if kind == "Users" else fs.TARGET_GROUP
    with fuzz.example():
        fuzz.send("PATCH", f"PATCH /{kind}/{{id}}", f"/{kind}/{target}", body=body)


def _valid_body(method: str, kind: str) -> Any:
    if method == "PATCH":
        operation = {"op": "replace", "path": "displayName", "value": "renamed"}
        return {"schemas": [fs.PATCH_OP], "Operations": [operation]}
    if method == "PUT":
        if kind == "Users":
            return {"schemas": [fs.USER], "userName": "replaced"}
        return {"schemas": [fs.GROUP], "displayName": "replaced"}
    return None


@fuzz_settings
@given(
    method=st.sampled_from(["GET", "HEAD", "PUT", "PATCH", "DELETE"]),
    kind=KINDS,
    path_id=fs.shown(fs.path_ids),
)
def test_fuzz_path_ids(fuzz, method, kind, path_id):
    mode, value = path_id.value
    with fuzz.example():
        if mode != "raw":
            value = _replace(value, fuzz.ids)
            value = value.upper() if mode == "upper" else value
            value = quote(value, safe="", errors="surrogatepass")
        body = _valid_body(method, kind)
        fuzz.send(method, f"{method} /{kind}/{{id}}", f"/{kind}/{value}", body=body)


# --------------------------------------------------------------------------- known findings


def _terms(op: str, n: int) -> str:
    return f" {op} ".join(f'userName eq "u{i}"' for i in range(n))


def _user(**fields: Any) -> dict[str, Any]:
    return {"schemas": [fs.USER], "userName": "someone", **fields}


def _group(**fields: Any) -> dict[str, Any]:
    return {"schemas": [fs.GROUP], "displayName": "some-team", **fields}


def _patch(op: str, path: str, value: Any) -> dict[str, Any]:
    return {"schemas": [fs.PATCH_OP], "Operations": [{"op": op, "path": path, "value": value}]}


def _raw(schema: str, fields: bytes) -> bytes:
    return b'{"schemas": ["' + schema.encode() + b'"], ' + fields + b"}"


LONG = "a" * 256  # one character more than the varchar(255) columns
FOLDS_LONG = "\u00df" * 128  # 128 characters; casefolded ("ss" * 128) 256
USER_ID = f"/Users/{fs.TARGET_USER}"
GROUP_ID = f"/Groups/{fs.TARGET_GROUP}"
SEED_MEMBER = {"value": fs.SEED_USER}

# The smallest request of each kind of failure in tests/FUZZ_FINDINGS.md, by
# root cause: (id, method, path, query parameters, JSON body, raw body). Each
# must pass the fuzz checks on both databases once the server is fixed.
FINDINGS = [
    # value longer than its varchar(255) column (PostgreSQL)
    ("long-userName", "POST", "/Users", None, _user(userName=LONG), None),
    ("long-user-externalId", "POST", "/Users", None, _user(externalId=LONG), None),
    ("long-user-displayName", "POST", "/Users", None, _user(displayName=LONG), None),
    ("long-userName-put", "PUT", USER_ID, None, _user(userName=LONG), None),
    ("long-userName-patch", "PATCH", USER_ID, None, _patch("replace", "userName", LONG), None),
    ("long-group-displayName", "POST", "/Groups", None, _group(displayName=LONG), None),
    ("long-group-externalId", "POST", "/Groups", None, _group(externalId=LONG), None),
    (
        "long-member-display",
        "POST",
        "/Groups",
        None,
        _group(members=[{**SEED_MEMBER, "display": LONG}]),
        None,
    ),
    ("casefold-long-userName", "POST", "/Users", None, _user(userName=FOLDS_LONG), None),
    ("casefold-long-displayName", "POST", "/Groups", None, _group(displayName=FOLDS_LONG), None),
    # NUL byte (PostgreSQL)
    ("nul-path-id", "GET", "/Users/%00", None, None, None),
    ("nul-userName", "POST", "/Users", None, _user(userName="a\x00"), None),
    ("nul-group-displayName", "POST", "/Groups", None, _group(displayName="\x00"), None),
    ("nul-member-value", "POST", "/Groups", None, _group(members=[{"value": "\x00"}]), None),
    ("nul-filter-literal", "GET", "/Users", {"filter": 'userName eq "\\u0000"'}, None, None),
    ("nul-in-document", "POST", "/Users", None, _user(title="\x00"), None),
    # lone UTF-16 surrogate (\ud800) in a string
    ("surrogate-userName", "POST", "/Users", None, None, _raw(fs.USER, b'"userName": "\\ud800"')),
    (
        "surrogate-displayName-put",
        "PUT",
        GROUP_ID,
        None,
        None,
        _raw(fs.GROUP, b'"displayName": "\\ud800"'),
    ),
    ("surrogate-filter-literal", "GET", "/Users", {"filter": 'userName eq "\\ud800"'}, None, None),
    (
        "surrogate-in-document",
        "POST",
        "/Users",
        None,
        None,
        _raw(fs.USER, b'"userName": "s", "title": "\\udfff"'),
    ),
    # recursion: a body nested 1,000 deep
    ("deep-arrays", "POST", "/Users", None, None, b"[" * 1000 + b"]" * 1000),
    # a JSON number of more than 4,300 digits
    ("long-number", "POST", "/Users", None, None, _raw(fs.USER, b'"userName": ' + b"1" * 4301)),
    # schemas items that are not hashable
    ("schemas-list", "POST", "/Users", None, {"schemas": [[0]], "userName": "x"}, None),
    ("schemas-object", "PUT", GROUP_ID, None, {"schemas": [{}], "displayName": "x"}, None),
    # integer out of range
    ("huge-startIndex", "GET", "/Users", {"startIndex": str(10**20)}, None, None),
    (
        "huge-startIndex-search",
        "POST",
        "/Groups/.search",
        None,
        {"schemas": [fs.SEARCH], "startIndex": 2**64},
        None,
    ),
    # SQLite expression tree deeper than 1,000
    ("many-or-terms", "GET", "/Users", {"filter": _terms("or", 1200)}, None, None),
    ("many-and-terms", "POST", "/.search", None, {"filter": _terms("and", 500)}, None),
    # HEAD on a route without a HEAD handler
    ("head-collection", "HEAD", "/Users", None, None, None),
    ("head-discovery", "HEAD", "/ServiceProviderConfig", None, None, None),
]


@pytest.fixture(scope="module")
def finding_fuzz(db, backend) -> Fuzzer:
    """One tenant per database for all the findings (they clean up after themselves)."""
    return Fuzzer(open_tenant(db, f"t-{uuid.uuid4().hex[:10]}"), backend, "test_fuzz_finding")


@pytest.mark.parametrize(
    ("method", "path", "params", "body", "raw"),
    [pytest.param(*finding[1:], id=finding[0]) for finding in FINDINGS],
)
def test_fuzz_finding(finding_fuzz, request, method, path, params, body, raw):
    fuzz = finding_fuzz
    fuzz.test = request.node.name
    endpoint = f"{method} {path.replace(fs.TARGET_USER, '{id}').replace(fs.TARGET_GROUP, '{id}')}"
    with fuzz.example():
        fuzz.send(method, endpoint, path, params=params, body=body, raw=raw)

"""Replay the recorded Entra ID and Okta requests (tests/idp_samples) against a live server.

Each recording names ids another server assigned. Before a recording is
replayed, the resources it presupposes are created over HTTP and the
recorded ids are replaced by the ids this server assigned. A PATCH or PUT
target is created as the recording's answer shows it, with every attribute
the request touches set to a different "before" value, so the replay has to
change it. The answer must carry the recorded status (group PATCH: 204, as
docs/identity-providers.md says), the RFC 7644 shape, and the recorded attribute values;
after a group PATCH a GET must show the displayName and members the
operations imply. Everything a recording created is deleted afterwards, so
each recording starts from an empty tenant.

Standard library only: this runs with whatever Python serves the checkout.
"""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote_plus, urlencode

SCIM_JSON = "application/scim+json"
USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
LIST = "urn:ietf:params:scim:api:messages:2.0:ListResponse"

# Attributes the recording's server assigned or that the request cannot set.
NOT_COMPARED = frozenset({"id", "meta", "schemas", "groups", "members", "password"})
REQUIRED = frozenset({"userName", "displayName"})
_ITEM_PATH = re.compile(r"^/(Users|Groups)/([^/?]+)$")
_MEMBER_FILTER = re.compile(r'^members\[value eq "([^"]+)"\]$')
_VALUE_FILTER = re.compile(r'^(\w+)\[(\w+) eq "([^"]*)"\]\.(\w+)$')


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class Client:
    """A tenant's SCIM base URL and bearer token; every request bounded by ``timeout``."""

    def __init__(self, base_url: str, token: str, timeout: float = 15.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.timeout = timeout

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        params: dict[str, str] | None = None,
    ) -> Answer:
        url = self.base_url + path + (f"?{urlencode(params)}" if params else "")
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(url, data=data, method=method)
        request.add_header("Authorization", f"Bearer {self.token}")
        request.add_header("Accept", SCIM_JSON)
        if data is not None:
            request.add_header("Content-Type", SCIM_JSON)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return Answer(response.status, _headers(response.headers), response.read())
        except urllib.error.HTTPError as error:
            return Answer(error.code, _headers(error.headers), error.read())


def _headers(headers: Any) -> dict[str, str]:
    return {key.lower(): value for key, value in headers.items()}


@dataclass
class Outcome:
    name: str
    problems: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.problems


def recordings(samples: Path) -> list[Path]:
    return sorted(samples.glob("*/*.json"))


def substitute(value: Any, ids: dict[str, str]) -> Any:
    if isinstance(value, str):
        for recorded, ours in ids.items():
            value = value.replace(recorded, ours)
        return value
    if isinstance(value, list):
        return [substitute(item, ids) for item in value]
    if isinstance(value, dict):
        return {key: substitute(item, ids) for key, item in value.items()}
    return value


def _strip(resource: dict[str, Any]) -> dict[str, Any]:
    """What can be POSTed to recreate a recorded resource: no server-assigned
    attributes, no nulls, no empty lists."""
    return {
        key: value
        for key, value in resource.items()
        if key not in NOT_COMPARED and value is not None and value != []
    } | {"schemas": resource["schemas"]}


def _make_different(target: dict[str, Any], key: str) -> None:
    """Give ``target[key]`` a value the replayed request has to change."""
    if key not in target:
        return
    value = target[key]
    if isinstance(value, bool):
        target[key] = not value
    elif isinstance(value, str):
        target[key] = f"before-{value}"
    elif key not in REQUIRED:
        del target[key]


def _touch(before: dict[str, Any], path: str) -> None:
    """Make the attribute at a PATCH ``path`` differ in ``before``."""
    if path.startswith("members"):
        return
    match = _VALUE_FILTER.match(path)
    if match:
        attribute, filter_attribute, filter_value, sub = match.groups()
        for entry in before.get(attribute) or []:
            if isinstance(entry, dict) and entry.get(filter_attribute) == filter_value:
                _make_different(entry, sub)
        return
    head, _, sub = path.partition(".")
    if sub and not head.startswith("urn:") and isinstance(before.get(head), dict):
        _make_different(before[head], sub)
    else:
        _make_different(before, path)


def _before(recording: dict[str, Any], resource: dict[str, Any]) -> dict[str, Any]:
    """The recorded resource as it stood before the recorded PATCH or PUT."""
    before = json.loads(json.dumps(_strip(resource)))
    body = recording.get("request") or {}
    if recording["method"] == "PUT":
        for key in set(body) - NOT_COMPARED:
            _make_different(before, key)
    for operation in body.get("Operations", []):
        if operation.get("path"):
            _touch(before, operation["path"])
        elif isinstance(operation.get("value"), dict):
            for key in set(operation["value"]) - {"id"}:
                _make_different(before, key)
    return before


def _member_ids(recording: dict[str, Any]) -> list[str]:
    body = recording.get("request") or {}
    found = [member["value"] for member in body.get("members") or []]
    for operation in body.get("Operations", []):
        match = _MEMBER_FILTER.match(operation.get("path") or "")
        if match:
            found.append(match.group(1))
        elif (operation.get("path") or "") == "members":
            found += [member["value"] for member in operation.get("value") or []]
    return list(dict.fromkeys(found))


def _prerequisites(recording: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """(recorded id, "Users"/"Groups", body to POST) for each resource the recording presupposes."""
    response = recording.get("response") or {}
    path = unquote_plus(recording["path"]).partition("?")[0]
    needed: list[tuple[str, str, dict[str, Any]]] = []
    item = _ITEM_PATH.match(path)
    if item and recording["method"] != "POST":
        endpoint, recorded_id = item.groups()
        if response.get("id") == recorded_id:
            body = (
                _strip(response) if recording["method"] == "GET" else _before(recording, response)
            )
        elif endpoint == "Users":
            body = {"schemas": [USER], "userName": f"replay-{recorded_id}@example.com"}
        else:
            body = {"schemas": [GROUP], "displayName": f"replay-{recorded_id}"}
        needed.append((recorded_id, endpoint, body))
    if response.get("schemas") == [LIST]:
        for resource in response.get("Resources") or []:
            endpoint = "Groups" if GROUP in resource["schemas"] else "Users"
            needed.append((resource["id"], endpoint, _strip(resource)))
    for member_id in _member_ids(recording):
        body = {"schemas": [USER], "userName": f"replay-{member_id}@example.com"}
        needed.append((member_id, "Users", body))
    return needed


def _subset_problems(expected: Any, actual: Any, where: str) -> list[str]:
    """Where ``actual`` does not carry what ``expected`` shows (nulls are unassigned)."""
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return [f"{where}: expected an object, got {actual!r}"]
        problems = []
        for key, value in expected.items():
            if value is None or value == [] or (where.endswith("name") and key == "formatted"):
                continue  # name.formatted was derived by the recording's server
            problems += _subset_problems(value, actual.get(key), f"{where}.{key}")
        return problems
    if isinstance(expected, list):
        if not isinstance(actual, list) or len(actual) != len(expected):
            return [f"{where}: expected {expected!r}, got {actual!r}"]
        problems = []
        for index, (mine, theirs) in enumerate(zip(expected, actual, strict=True)):
            problems += _subset_problems(mine, theirs, f"{where}[{index}]")
        return problems
    return [] if expected == actual else [f"{where}: expected {expected!r}, got {actual!r}"]


def _comparable(resource: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in resource.items() if key not in NOT_COMPARED}


def _shape_problems(answer: Answer, body: dict[str, Any], endpoint: str) -> list[str]:
    """RFC 7643 §3.1 / RFC 7644 §3.14: id, schemas, meta, version and its ETag."""
    problems = []
    resource_type = endpoint[:-1]
    core = GROUP if endpoint == "Groups" else USER
    meta = body.get("meta") or {}
    if not body.get("id"):
        problems.append("resource has no id")
    if core not in (body.get("schemas") or []):
        problems.append(f"schemas {body.get('schemas')!r} lack {core}")
    if meta.get("resourceType") != resource_type:
        problems.append(f"meta.resourceType is {meta.get('resourceType')!r}")
    if not str(meta.get("location", "")).endswith(f"/{endpoint}/{body.get('id')}"):
        problems.append(f"meta.location {meta.get('location')!r} does not end in the id")
    if not str(meta.get("version", "")).startswith('W/"'):
        problems.append(f"meta.version {meta.get('version')!r} is not a weak ETag")
    if not meta.get("created") or not meta.get("lastModified"):
        problems.append("meta.created or meta.lastModified missing")
    etag = answer.headers.get("etag")
    if etag is not None and etag != meta.get("version"):
        problems.append(f"ETag header {etag!r} differs from meta.version {meta.get('version')!r}")
    return problems


def _group_after_patch(operations: list[dict[str, Any]]) -> tuple[str | None, set[str]]:
    """The displayName and member ids the operations leave (the group starts empty)."""
    display_name: str | None = None
    members: set[str] = set()
    for operation in operations:
        op = operation["op"].lower()
        path = operation.get("path") or ""
        value = operation.get("value")
        listed = {member["value"] for member in value} if isinstance(value, list) else set()
        match = _MEMBER_FILTER.match(path)
        if not path and isinstance(value, dict):
            display_name = value.get("displayName", display_name)
        elif path == "displayName":
            display_name = value
        elif match and op == "remove":
            members.discard(match.group(1))
        elif path == "members" and op == "add":
            members |= listed
        elif path == "members" and op == "remove":
            members = members - listed if value else set()
        elif path == "members" and op == "replace":
            members = listed
    return display_name, members


class Replay:
    """One recording against the live tenant."""

    def __init__(self, client: Client, name: str, recording: dict[str, Any]) -> None:
        self.client = client
        self.recording = recording
        self.outcome = Outcome(name)
        self.created: list[tuple[str, str]] = []  # (endpoint, our id), in creation order

    def problem(self, message: str) -> None:
        self.outcome.problems.append(message)

    def run(self) -> Outcome:
        try:
            self._replay()
        except Exception as exc:  # a crash in one recording must not hide the others
            self.problem(f"replay raised {exc.__class__.__name__}: {exc}")
        finally:
            self._clean_up()
        return self.outcome

    def _create(self, endpoint: str, body: dict[str, Any]) -> str | None:
        answer = self.client.request("POST", f"/{endpoint}", body)
        if answer.status != 201:
            self.problem(
                f"creating a prerequisite in /{endpoint} answered {answer.status}: "
                f"{answer.body[:300]!r}"
            )
            return None
        our_id = answer.json()["id"]
        self.created.append((endpoint, our_id))
        return our_id

    def _replay(self) -> None:
        recording = self.recording
        ids: dict[str, str] = {}
        for recorded_id, endpoint, body in _prerequisites(recording):
            if recorded_id in ids:
                continue
            our_id = self._create(endpoint, substitute(body, ids))
            if our_id is None:
                return
            ids[recorded_id] = our_id
        method = recording["method"]
        path, _, query = substitute(unquote_plus(recording["path"]), ids).partition("?")
        params = dict(part.split("=", 1) for part in query.split("&")) if query else None
        body = substitute(recording.get("request"), ids)
        endpoint = "Groups" if path.startswith("/Groups") else "Users"

        answer = self.client.request(method, path, body, params=params)

        expected_status = recording["statusCode"]
        if method == "PATCH" and endpoint == "Groups":
            expected_status = 204  # docs/identity-providers.md: no member list in PATCH answers
        if answer.status != expected_status:
            self.problem(
                f"{method} {path}: status {answer.status}, want {expected_status}: "
                f"{answer.body[:300]!r}"
            )
            return
        if expected_status == 204:
            if answer.body:
                self.problem(f"{method} {path}: 204 with a body")
            if endpoint == "Groups":
                self._check_group(path, body["Operations"])
            return
        if not answer.headers.get("content-type", "").startswith(SCIM_JSON):
            self.problem(f"Content-Type {answer.headers.get('content-type')!r}, want {SCIM_JSON}")
        got = answer.json()
        expected = substitute(recording["response"], ids)
        if expected["schemas"] == [LIST]:
            self._check_list(got, expected, endpoint)
            return
        self.outcome.problems += _shape_problems(answer, got, endpoint)
        if expected_status == 201:
            self.created.append((endpoint, got.get("id")))
            if answer.headers.get("location") != (got.get("meta") or {}).get("location"):
                self.problem("201 Location header differs from meta.location")
        self.outcome.problems += _subset_problems(_comparable(expected), got, endpoint[:-1])

    def _check_list(self, got: dict[str, Any], expected: dict[str, Any], endpoint: str) -> None:
        """RFC 7644 §3.4.2: a ListResponse with the recorded total, its page and its resources."""
        if got.get("schemas") != [LIST]:
            self.problem(f"schemas {got.get('schemas')!r}, want [{LIST}]")
        resources = got.get("Resources") or []
        if got.get("totalResults") != expected["totalResults"]:
            self.problem(f"totalResults {got.get('totalResults')}, want {expected['totalResults']}")
        if got.get("startIndex") != expected.get("startIndex", 1):
            self.problem(
                f"startIndex {got.get('startIndex')}, want {expected.get('startIndex', 1)}"
            )
        if got.get("itemsPerPage") != len(resources):
            self.problem(f"itemsPerPage {got.get('itemsPerPage')} for {len(resources)} resources")
        wanted = expected.get("Resources") or []
        if len(resources) != len(wanted):
            self.problem(f"{len(resources)} resources, want {len(wanted)}")
            return
        for mine, theirs in zip(resources, wanted, strict=True):
            self.outcome.problems += _shape_problems(Answer(200, {}, b""), mine, endpoint)
            self.outcome.problems += _subset_problems(_comparable(theirs), mine, endpoint[:-1])

    def _check_group(self, path: str, operations: list[dict[str, Any]]) -> None:
        """After a 204 the group must read back as the operations left it."""
        display_name, members = _group_after_patch(operations)
        answer = self.client.request("GET", path)
        if answer.status != 200:
            self.problem(f"GET {path} after PATCH: status {answer.status}")
            return
        got = answer.json()
        self.outcome.problems += _shape_problems(answer, got, "Groups")
        if display_name is not None and got.get("displayName") != display_name:
            self.problem(
                f"displayName {got.get('displayName')!r} after PATCH, want {display_name!r}"
            )
        listed = {member.get("value") for member in got.get("members") or []}
        if listed != members:
            self.problem(f"members {sorted(listed)} after PATCH, want {sorted(members)}")

    def _clean_up(self) -> None:
        # Groups first: deleting a user also drops its memberships.
        for endpoint, our_id in sorted(self.created, key=lambda item: item[0] != "Groups"):
            try:
                answer = self.client.request("DELETE", f"/{endpoint}/{our_id}")
            except OSError as exc:
                self.problem(f"DELETE /{endpoint}/{our_id} raised {exc}")
                continue
            if answer.status != 204:
                self.problem(f"DELETE /{endpoint}/{our_id}: status {answer.status}, want 204")


def replay_all(client: Client, samples: Path) -> list[Outcome]:
    outcomes = []
    for path in recordings(samples):
        name = str(path.relative_to(samples))
        outcomes.append(Replay(client, name, json.loads(path.read_text())).run())
    return outcomes


if __name__ == "__main__":  # manual runs: python3 conformance/idp_replay.py BASE_URL TOKEN
    import sys

    samples_dir = Path(__file__).resolve().parent.parent / "tests" / "idp_samples"
    for outcome in replay_all(Client(sys.argv[1], sys.argv[2]), samples_dir):
        print("PASS" if outcome.passed else "FAIL", outcome.name, *outcome.problems, sep="\n  ")

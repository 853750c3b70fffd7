"""Every recorded Entra ID and Okta request (tests/idp_samples) replayed against a live app.

Each recording names ids another server assigned; the resources they refer
to are created here first and the recorded ids replaced by ours. The answer
must have the recorded status (group PATCH: 204, as docs/identity-providers.md says) and the
RFC 7644 shape, and carry the attribute values the recording shows.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import unquote_plus

import pytest

from conformance.idp_replay import substitute
from tests import test_users_api
from tests.test_users_api import GROUP, LIST, SCIM_JSON, USER

api = test_users_api.api  # the fixture: a tenant's base URL on a test app

SAMPLES = Path(__file__).parent / "idp_samples"

# Resources each recording presupposes: recorded id -> what to create for it.
_USER = "user"
_GROUP = "group"
PREREQUISITES: dict[str, dict[str, tuple[str, dict[str, Any]]]] = {
    "entra/get_group.json": {
        "40734ae655284ad3abcc": (_GROUP, {"displayName": "displayName"}),
    },
    "entra/get_group_dn.json": {
        "8c601452cc934a9ebef9": (
            _GROUP,
            {"displayName": "displayName", "externalId": "0db508eb-91e2-46e4-809c-30dcbda0c685"},
        ),
    },
    "entra/get_user_query_resp.json": {
        "2441309d85324e7793ae": (
            _USER,
            {
                "userName": "Test_User_dfeef4c5-5681-4387-b016-bdf221e82081",
                "externalId": "7fce0092-d52e-4f76-b727-3955bd72c939",
                "name": {"familyName": "familyName", "givenName": "givenName"},
                "emails": [
                    {
                        "value": "Test_User_91b67701-697b-46de-b864-bd0bbe4f99c1@testuser.com",
                        "type": "work",
                        "primary": True,
                    }
                ],
            },
        ),
    },
    "entra/get_user_resp.json": {
        "5d48a0a8e9f04aa38008": (
            _USER,
            {"userName": "Test_User_feed3ace-693c-4e5a-82e2-694be1b39934"},
        ),
    },
    "entra/update_group.json": {
        "fa2ce26709934589afc5": (_GROUP, {"displayName": "before"}),
        "f648f8d5ea4e4cd38e9c": (_USER, {"userName": "member@example.com"}),
    },
    "entra/update_user.json": {
        "6764549bef60420686bc": (
            _USER,
            {
                "userName": "before@testuser.com",
                "name": {"givenName": "givenName", "familyName": "familyName"},
                "emails": [{"value": "old@example.com", "type": "work", "primary": True}],
            },
        ),
    },
    "okta/retrieve_group.json": {
        "abf4dd94-a4c0-4f67-89c9-76b03340cb9b": (_GROUP, {"displayName": "Test SCIMv2"}),
    },
    "okta/retrieve_user.json": {
        "23a35c27-23d3-4c03-b4c5-6443c09e7173": (
            _USER,
            {
                "userName": "test.user@okta.local",
                "name": {"givenName": "Test", "familyName": "User"},
            },
        ),
    },
    "okta/update_group_membership.json": {
        "abf4dd94-a4c0-4f67-89c9-76b03340cb9b": (_GROUP, {"displayName": "Test SCIMv2"}),
        "23a35c27-23d3-4c03-b4c5-6443c09e7173": (_USER, {"userName": "a@example.com"}),
        "89bb1940-b905-4575-9e7f-6f887cfb368e": (_USER, {"userName": "b@example.com"}),
    },
    "okta/update_group_name.json": {
        "abf4dd94-a4c0-4f67-89c9-76b03340cb9b": (_GROUP, {"displayName": "Test SCIMv2 old"}),
    },
    "okta/update_user.json": {
        "23a35c27-23d3-4c03-b4c5-6443c09e7173": (_USER, {"userName": "test.user@okta.local"}),
    },
    "okta/update_user_patch.json": {
        "23a35c27-23d3-4c03-b4c5-6443c09e7173": (_USER, {"userName": "test.user@okta.local"}),
    },
}


def _recordings() -> list[str]:
    return sorted(str(p.relative_to(SAMPLES)) for p in SAMPLES.glob("*/*.json"))


def _create(api, kind: str, attributes: dict[str, Any]) -> str:
    if kind == _USER:
        response = api.post("/Users", {"schemas": [USER], **attributes})
    else:
        response = api.post("/Groups", {"schemas": [GROUP], **attributes})
    assert response.status_code == 201, response.text
    return response.json()["id"]


def _assert_resource_shape(api, body: dict[str, Any], resource_type: str) -> None:
    assert body["id"]
    assert body["schemas"][0] in (USER, GROUP)
    assert body["meta"]["resourceType"] == resource_type
    assert body["meta"]["location"].endswith(f"/{resource_type}s/{body['id']}")
    assert body["meta"]["version"].startswith('W/"')


def _known_keys(recording: dict[str, Any], created: list[dict[str, Any]]) -> set[str]:
    """The attributes whose value the replay determines: those the request
    sends (POST, PUT), the patch touches, or the prerequisites were created with."""
    body = recording.get("request") or {}
    keys = {key for attributes in created for key in attributes}
    if recording["method"] in ("POST", "PUT"):
        keys |= set(body)
    for operation in body.get("Operations", []):
        if operation.get("path"):
            keys.add(operation["path"].split("[")[0].split(".")[0])
        elif isinstance(operation.get("value"), dict):
            keys |= set(operation["value"])
    return keys - {"id", "meta", "schemas", "members", "password", "groups"}


def _assert_carries(expected: dict[str, Any], actual: dict[str, Any], keys: set[str]) -> None:
    """The recorded values of the attributes the replay determines (nulls are unassigned)."""
    for key in keys & set(expected):
        wanted = expected[key]
        if isinstance(wanted, dict):
            # name.formatted was derived by the recording's server; we store what is sent.
            wanted = {k: v for k, v in wanted.items() if k != "formatted"}
            got = {k: v for k, v in (actual.get(key) or {}).items() if k != "formatted"}
            assert got == wanted, key
        elif wanted is not None:
            assert actual.get(key) == wanted, key


@pytest.mark.parametrize("name", _recordings())
def test_recorded_request_replays_with_rfc_answer(api, name):
    recording = json.loads((SAMPLES / name).read_text())
    prerequisites = PREREQUISITES.get(name, {})
    ids = {
        recorded: _create(api, kind, attributes)
        for recorded, (kind, attributes) in prerequisites.items()
    }
    keys = _known_keys(recording, [attributes for _, attributes in prerequisites.values()])
    method = recording["method"]
    path = substitute(unquote_plus(recording["path"]), ids)
    path, _, query = path.partition("?")
    params = dict(part.split("=", 1) for part in query.split("&")) if query else None
    body = substitute(recording.get("request"), ids)

    response = api.request(method, path, body, params=params)

    resource_type = "Group" if path.startswith("/Groups") else "User"
    expected_status = recording["statusCode"]
    if method == "PATCH" and resource_type == "Group":
        expected_status = 204
    assert response.status_code == expected_status, response.text
    if expected_status == 204:
        assert response.content == b""
        return
    assert response.headers["content-type"].startswith(SCIM_JSON)
    answer = response.json()
    expected = substitute(recording["response"], ids)
    if expected["schemas"] == [LIST]:
        assert answer["schemas"] == [LIST]
        assert answer["totalResults"] == expected["totalResults"]
        assert answer["startIndex"] == expected["startIndex"]
        assert answer["itemsPerPage"] == len(answer["Resources"])
        for mine, theirs in zip(answer["Resources"], expected["Resources"] or [], strict=True):
            _assert_resource_shape(api, mine, resource_type)
            _assert_carries(theirs, mine, keys)
        return
    _assert_resource_shape(api, answer, resource_type)
    if expected_status == 201:
        assert response.headers["location"] == answer["meta"]["location"]
    _assert_carries(expected, answer, keys)

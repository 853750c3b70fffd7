"""conformance/: how checker output is judged and how recordings are prepared (no server)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

CONFORMANCE = Path(__file__).resolve().parent.parent / "conformance"
sys.path.insert(0, str(CONFORMANCE))

import idp_replay  # noqa: E402
import run_checks  # noqa: E402

SAMPLES = Path(__file__).parent / "idp_samples"


def test_tester_output_is_split_into_checks_with_multiline_reasons():
    text = (
        "Performing a SCIM compliance check on http://x/ ...\n"
        "\x1b[32mSUCCESS\x1b[0m discover_schemas\n  Schemas available\n"
        "ERROR check_add_attribute\n  Attribute 'members' was not added\nPatched value: [1]\n"
        "SKIPPED search_with_attributes\n  POST /.search: not supported\n"
    )
    assert run_checks.parse_tester_output(text) == [
        ("SUCCESS", "discover_schemas", "Schemas available"),
        ("ERROR", "check_add_attribute", "Attribute 'members' was not added | Patched value: [1]"),
        ("SKIPPED", "search_with_attributes", "POST /.search: not supported"),
    ]


def _fake_sanity(tmp_path: Path, results: list[dict[str, str]]) -> str:
    tool = tmp_path / "scim-sanity"
    report = json.dumps({"results": results})
    tool.write_text(f"#!/bin/sh\ncat <<'EOF'\n{report}\nEOF\n")
    tool.chmod(0o755)
    return str(tool)


def test_sanity_allows_group_patch_204_only_by_name_and_message(tmp_path):
    tool = _fake_sanity(
        tmp_path,
        [
            {"name": "POST /Users", "status": "pass"},
            {
                "name": "PATCH /Groups/{id} remove members",
                "status": "fail",
                "message": "Expected 200, got 204",
            },
            {
                "name": "PATCH /Groups/{id} add member",
                "status": "fail",
                "message": "Expected 200, got 500",
            },
            {"name": "Agent CRUD Lifecycle", "status": "skip", "message": "not supported"},
            {"name": "GET /Users (ListResponse)", "status": "skip", "message": "?"},
        ],
    )
    result = run_checks.run_sanity(tool, "http://x", "t", timeout=30)
    assert result.passed == 1
    assert result.allowed == ["PATCH /Groups/{id} remove members: Expected 200, got 204"]
    assert [line.split(" [")[0] for line in result.failed] == [
        "PATCH /Groups/{id} add member",
        "GET /Users (ListResponse)",
    ]
    assert not result.ok


@pytest.mark.parametrize("name", ["entra/update_user.json", "okta/update_user_patch.json"])
def test_patch_targets_start_with_every_touched_attribute_different(name):
    recording = json.loads((SAMPLES / name).read_text())
    [(recorded_id, endpoint, before)] = idp_replay._prerequisites(recording)
    after = idp_replay._comparable(recording["response"])
    assert recorded_id == recording["response"]["id"] and endpoint == "Users"
    assert before["active"] is not after["active"]
    assert idp_replay._subset_problems(after, before, "User")


def test_group_members_after_okta_membership_patch():
    recording = json.loads((SAMPLES / "okta/update_group_membership.json").read_text())
    display_name, members = idp_replay._group_after_patch(recording["request"]["Operations"])
    assert display_name is None
    assert members == {
        "23a35c27-23d3-4c03-b4c5-6443c09e7173",
        "89bb1940-b905-4575-9e7f-6f887cfb368e",
    }

"""Rule management: ordered edits, a preview of plan changes and seat impact, and
recompute of every user when a change is applied."""

from __future__ import annotations

import pytest

from scimsrv.scim.errors import ScimError
from scimsrv.services import rules
from tests.provisioning_helpers import Directory
from tests.use_cases import run


def edit(d: Directory, change: rules.Edit, apply=True):
    """Run one rule edit (rolled back unless ``apply``); the touched rule and the preview."""
    if apply:
        result = d.change(lambda tx: rules.edit_rules(tx, change))
    else:
        work = lambda tx: rules.edit_rules(tx, change)  # noqa: E731
        result = run(d.db, work, d.tenant_id, at=d.clock, dry_run=True)
    return result.rule, result.preview


def listed(d: Directory):
    return run(d.db, rules.list_rules, d.tenant_id, write=False)


def test_added_rules_are_kept_in_position_order(db, tenant_id):
    d = Directory(db, tenant_id)
    edit(d, rules.add(scope="all", plans="Sales-Essentials", mode="if-not-set"))
    edit(d, rules.add(scope="in-group", target="Support", plans="Service-Premium"))
    edit(d, rules.add(scope="not-in-group", target="CRM", plans="", position=1))
    assert [(r.position, r.scope) for r in listed(d)] == [
        (1, "not-in-group"),
        (2, "all"),
        (3, "in-group"),
    ]


def test_preview_lists_users_who_would_change_plan_and_the_seat_impact(db, tenant_id):
    d = Directory(db, tenant_id, seats=1)
    alice, bob = d.create_user("alice"), d.create_user("bob")
    d.create_group("Support", [alice, bob])
    _, preview = edit(
        d,
        rules.add(scope="in-group", target="support", plans="Service-Premium"),
        apply=False,
    )
    # One seat: the first in queue order gets it, the other would wait.
    assert sorted((c.user_name, c.before, c.after, c.state) for c in preview.changes) == [
        ("alice", "", "Service-Premium", "licensed"),
        ("bob", "", "", "pending"),
    ]
    assert [c.user_name for c in preview.waiting] == ["bob"]
    seats = {s.module_name: s for s in preview.seats}
    assert (seats["service-premium"].in_use, seats["service-premium"].after) == (0, 1)
    assert seats["user"].after == 1
    # A preview without apply changes nothing.
    assert d.state(alice) == ("none", "", "")


def test_applying_a_rule_recomputes_every_user(db, tenant_id):
    d = Directory(db, tenant_id, seats=1)
    alice, bob = d.create_user("alice"), d.create_user("bob")
    d.create_group("Support", [alice, bob])
    edit(d, rules.add(scope="in-group", target="Support", plans="Service-Premium"))
    states = sorted([d.state(alice)[0], d.state(bob)[0]])
    assert states == ["licensed", "pending"]


def test_disabling_moving_and_removing_rules_recompute_users(db, tenant_id):
    d = Directory(db, tenant_id)
    alice = d.create_user("alice")
    rule, _ = edit(d, rules.add(scope="all", plans="Marketing-Essentials"))
    assert d.state(alice)[1] == "Marketing-Essentials"
    edit(d, rules.set_enabled(rule.id, False))
    assert d.state(alice)[0] == "none"
    edit(d, rules.set_enabled(rule.id, True))
    clear, _ = edit(d, rules.add(scope="all", plans=""))
    assert d.state(alice)[0] == "none"
    edit(d, rules.move(clear.id, 1))
    assert d.state(alice)[1] == "Marketing-Essentials"
    edit(d, rules.remove(rule.id))
    assert d.state(alice)[0] == "none"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"scope": "everyone"}, "unknown scope"),
        ({"scope": "in-group"}, "needs a group"),
        ({"scope": "all", "plans": "Sales-Gold"}, "unknown plan"),
        ({"scope": "all", "position": 7}, "position must be between"),
    ],
)
def test_invalid_rule_edits_are_refused_and_change_nothing(db, tenant_id, kwargs, message):
    d = Directory(db, tenant_id)
    with pytest.raises(ScimError, match=message):
        run(db, lambda tx: rules.edit_rules(tx, rules.add(**kwargs)), tenant_id)
    assert listed(d) == []


def test_editing_an_unknown_rule_is_a_404(db, tenant_id):
    Directory(db, tenant_id)
    with pytest.raises(ScimError) as error:
        run(db, lambda tx: rules.edit_rules(tx, rules.move(999_999, 1)), tenant_id)
    assert error.value.status == 404

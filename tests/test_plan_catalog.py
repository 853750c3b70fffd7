"""The plan catalog as data: six plans with features in four languages and the
licenses each implies, 26 combinations in the seeds' order; from the default
license set or from a tenant's own (verified) set."""

from __future__ import annotations

import pytest
from sqlalchemy import update

from licensing_core.errors import UnknownTenant
from licensing_core.features import LANGUAGES, features
from licensing_core.license_set import load_default
from licensing_core.plan_catalog import default_plan_catalog
from licensing_core.plans import BASE_PLANS
from licensing_core.tables import ModuleLicense
from scimsrv.services.plans import plans
from tests.licensing_helpers import make_tenant
from tests.test_license_set import SALES_PREMIUM_SET
from tests.test_plans import NORWEGIAN_SEED_COMBINATIONS, NORWEGIAN_SEED_PLANS
from tests.use_cases import run


def test_the_default_catalog_lists_six_plans_and_26_combinations_in_the_seeds_order():
    catalog = default_plan_catalog()
    assert [entry.plan for entry in catalog.plans] == list(BASE_PLANS)
    names = [entry.combination.name for entry in catalog.combinations]
    assert names == NORWEGIAN_SEED_PLANS + NORWEGIAN_SEED_COMBINATIONS
    assert catalog.source == "the default license set"


def test_each_plan_implies_the_licenses_of_its_set_info():
    catalog = default_plan_catalog()
    by_name = {entry.plan.name: entry for entry in catalog.plans}
    assert by_name["Sales-Premium"].licenses == SALES_PREMIUM_SET
    for entry in catalog.plans:
        assert entry.licenses == load_default().implied(entry.plan)
        assert entry.problem == ""


def test_a_combination_implies_every_license_of_its_plans_once_first_listed_first():
    catalog = default_plan_catalog()
    entry = next(e for e in catalog.combinations if len(e.combination) == 3)
    implied = [name for plan in entry.combination for name in load_default().implied(plan)]
    assert list(entry.licenses) == list(dict.fromkeys(implied))


def test_the_json_carries_features_in_every_language_or_the_one_asked():
    body = default_plan_catalog().to_json()
    assert body["languages"] == list(LANGUAGES)
    first = body["plans"][0]
    assert first["name"] == "Sales-Essentials" and first["module"] == "sales-essentials"
    assert (first["solution"], first["tier"], first["problem"]) == ("Sales", "Essentials", None)
    for language in LANGUAGES:
        assert first["features"][language] == features(BASE_PLANS[0], language)
    german = default_plan_catalog().to_json(("de",))
    assert set(german["plans"][5]["features"]) == {"de"}
    assert "Marketing Automation (Workflows)" in german["plans"][5]["features"]["de"]
    combination = body["combinations"][25]
    assert combination["basePlans"] == ["Service-Premium", "Marketing-Premium"]


def test_a_tenants_catalog_reads_its_own_set_and_names_plans_it_cannot_grant(db, tenant_id):
    make_tenant(db, tenant_id)
    with db.write() as session:
        session.execute(
            update(ModuleLicense)
            .where(ModuleLicense.tenant_id == tenant_id, ModuleLicense.module_name == "t2")
            .values(license_number=1000)
        )
    catalog = run(db, plans, tenant_id, write=False)
    assert catalog.source == f"the license set of tenant {tenant_id!r}"
    by_name = {entry.plan.name: entry for entry in catalog.plans}
    assert by_name["Sales-Essentials"].licenses == load_default().implied("Sales-Essentials")
    premium = by_name["Sales-Premium"]
    assert premium.licenses == () and premium.problem.startswith("license invalid: module 't2'")
    combos = {entry.combination.name: entry for entry in catalog.combinations}
    assert combos["Sales-Essentials + Service-Essentials"].problem == ""
    assert combos["Sales-Essentials + Service-Premium"].problem.startswith(
        "Service-Premium: license invalid: module 't2'"
    )


def test_the_catalog_of_an_unknown_tenant_is_an_error(db):
    with pytest.raises(UnknownTenant):
        run(db, plans, "no-such-tenant", write=False)

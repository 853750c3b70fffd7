"""A license set as data: the moduleowner row and its modulelicense rows, validated.

``parse_license_set`` reads the JSON shape of ``data/default_license_set.json``
(its ``_comment`` documents it) strictly; a LicenseSetSpec is valid by
construction, so the installer never has to check it again. Pure: no database.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from importlib import resources
from typing import Any

from licensing_core.errors import (
    InvalidCombination,
    InvalidLicenseSet,
    InvalidSetInfo,
    UnknownModule,
)
from licensing_core.fields import missing_fields, unknown_fields, wrong_type
from licensing_core.plans import BASE_PLANS, Plan, plan_for_module, plan_named
from licensing_core.setinfo import NAME_RULE, is_module_name, parse_set_info
from licensing_core.tables import (
    SITE_LICENSE,
    SYSTEM_LICENSE,
    USER_LICENSE,
    USER_PLAN_FLAG,
    ModuleLicense,
    ModuleOwner,
)
from licensing_core.text import InvalidText, storable_fields

FORMAT = 1
LICENSE_TYPES = (SYSTEM_LICENSE, SITE_LICENSE, USER_LICENSE)
_OWNER_NAME = re.compile(r"[A-Z0-9][A-Z0-9_-]*")


@dataclass(frozen=True)
class OwnerSpec:
    """The moduleowner row: the issuer and the set's global dates (naive UTC)."""

    owner_name: str
    owner_description: str = ""
    company_name: str = ""
    serial_number: str = ""
    expiration: datetime | None = None
    grace_to: datetime | None = None
    maintenance_to: datetime | None = None
    admin_warning_date: datetime | None = None
    next_check_date: datetime | None = None
    # ``ed25519:<kid>:<base64>`` over the owner and its rows (licensing_core.signing).
    signature: str = ""


@dataclass(frozen=True)
class ModuleSpec:
    """One modulelicense row. ``license_number`` is None only for a hidden user
    license that plans imply, until ``LicenseSetSpec.with_seats`` computes it."""

    module_name: str
    license_type: int
    license_number: int | None
    module_description: str = ""
    module_version: str = "1"
    hidden: bool = False
    extra_flags: int = 0
    extra_info: str = ""
    prerequisite_module: str = ""
    sort_order: int = 0
    unrestricted: bool = False
    # ``ed25519:<kid>:<base64>`` over this row (licensing_core.signing).
    signature: str = ""

    @property
    def is_plan(self) -> bool:
        return bool(self.extra_flags & USER_PLAN_FLAG)

    @property
    def plan(self) -> Plan | None:
        """The base plan this row sells, if it is a user plan."""
        return plan_for_module(self.module_name) if self.is_plan else None

    @property
    def implied(self) -> tuple[str, ...]:
        """The hidden user licenses a plan row grants (its ``set=`` list); () otherwise."""
        return parse_set_info(self.extra_info) if self.is_plan else ()

    @property
    def label(self) -> str:
        return f"module {self.module_name!r} version {self.module_version!r}"


@dataclass(frozen=True)
class LicenseSetSpec:
    """A whole license set; the constructor enforces every rule of the set."""

    owner: OwnerSpec
    modules: tuple[ModuleSpec, ...]
    format: int = FORMAT

    def __post_init__(self) -> None:
        _validate(self.modules)
        try:
            storable_fields("owner", self.owner, ModuleOwner)
            for module in self.modules:
                storable_fields(module.label, module, ModuleLicense)
        except InvalidText as exc:
            raise InvalidLicenseSet(str(exc)) from None

    @property
    def plan_modules(self) -> tuple[ModuleSpec, ...]:
        return tuple(m for m in self.modules if m.is_plan)

    @property
    def plans(self) -> tuple[Plan, ...]:
        """The base plans this set sells, in file order."""
        return tuple(m.plan for m in self.plan_modules if m.plan is not None)

    def module(self, module_name: str, module_version: str = "1") -> ModuleSpec:
        for module in self.modules:
            if (module.module_name, module.module_version) == (module_name, module_version):
                return module
        raise UnknownModule(module_name)

    def plan_module(self, plan: Plan | str) -> ModuleSpec:
        """The row selling ``plan`` (a Plan or a plan name); UnknownModule if absent."""
        if isinstance(plan, str):
            plan = plan_named(plan)
        for module in self.plan_modules:
            if module.plan == plan:
                return module
        raise UnknownModule(plan.module_name)

    def implied(self, plan: Plan | str) -> tuple[str, ...]:
        """The hidden user licenses ``plan`` grants, in its ``set=`` order."""
        return self.plan_module(plan).implied

    def with_seats(
        self, plan_seats: Mapping[str, int] | None = None, unrestricted: bool = False
    ) -> LicenseSetSpec:
        """This set with a concrete ``license_number`` on every module.

        ``plan_seats`` overrides the seats of plans (keys are plan names,
        case-insensitive). A hidden user license without its own number gets
        the sum of the seats of the plans that imply it. ``unrestricted`` makes
        every user license unrestricted; its number stays as computed (never 0).
        The result is unsigned: changed seats would void the signatures.
        """
        # A plan row always has a number: _validate refuses one without.
        seats = {m.module_name: m.license_number or 0 for m in self.plan_modules}
        for plan, number in _checked_plan_seats(self, plan_seats or {}).items():
            seats[plan.module_name] = number
        implied_by: dict[str, list[str]] = {}
        for plan_module in self.plan_modules:
            for name in plan_module.implied:
                implied_by.setdefault(name, []).append(plan_module.module_name)
        modules = []
        for module in self.modules:
            number = module.license_number
            if module.is_plan:
                number = seats[module.module_name]
            elif number is None:
                number = sum(seats[plan] for plan in implied_by[module.module_name])
            modules.append(
                dataclasses.replace(
                    module,
                    license_number=number,
                    unrestricted=module.unrestricted
                    or (unrestricted and module.license_type == USER_LICENSE),
                    signature="",
                )
            )
        return dataclasses.replace(
            self, owner=dataclasses.replace(self.owner, signature=""), modules=tuple(modules)
        )

    @property
    def signed(self) -> bool:
        """Whether the owner carries a signature (not whether it verifies)."""
        return bool(self.owner.signature)


def _checked_plan_seats(spec: LicenseSetSpec, plan_seats: Mapping[str, int]) -> dict[Plan, int]:
    checked: dict[Plan, int] = {}
    for key, number in plan_seats.items():
        if not isinstance(key, str):
            raise InvalidLicenseSet(f"plan seats: key {key!r} is not a plan name")
        try:
            plan = plan_named(key)
        except InvalidCombination as exc:
            raise InvalidLicenseSet(f"plan seats: {exc}") from None
        if plan in checked:
            raise InvalidLicenseSet(f"plan seats: {plan.name} is given twice")
        if plan not in spec.plans:
            raise InvalidLicenseSet(f"plan seats: the license set does not sell {plan.name}")
        if not _is_int(number) or number < 1:
            raise InvalidLicenseSet(
                f"plan seats: {plan.name} needs a whole number of seats >= 1, got {number!r}"
            )
        checked[plan] = number
    return checked


def _validate(modules: tuple[ModuleSpec, ...]) -> None:
    by_name: dict[str, list[ModuleSpec]] = {}
    sort_orders: dict[int, ModuleSpec] = {}
    for module in modules:
        versions = by_name.setdefault(module.module_name, [])
        if any(m.module_version == module.module_version for m in versions):
            raise InvalidLicenseSet(f"{module.label} is listed twice")
        versions.append(module)
        if module.sort_order in sort_orders:
            raise InvalidLicenseSet(
                f"{module.label}: sortOrder {module.sort_order} is also used by "
                f"{sort_orders[module.sort_order].label}"
            )
        sort_orders[module.sort_order] = module
        if module.license_type not in LICENSE_TYPES:
            raise InvalidLicenseSet(
                f"{module.label}: unknown licenseType {module.license_type!r} "
                "(1 system, 2 site, 3 user)"
            )
        if module.license_number is not None and module.license_number < 1:
            raise InvalidLicenseSet(
                f"{module.label}: licenseNumber must be >= 1, got {module.license_number}"
            )

    implied: set[str] = set()
    sold: dict[Plan, ModuleSpec] = {}
    for module in modules:
        plan = plan_for_module(module.module_name)
        if not module.is_plan:
            if plan is not None:
                raise InvalidLicenseSet(
                    f"{module.label} is named like the plan {plan.name} but its extraFlags "
                    "lacks the user-plan flag 1"
                )
            continue
        if plan is None:
            raise InvalidLicenseSet(
                f"{module.label} has extraFlags 1 (user plan) but is not one of the six plans "
                f"({', '.join(p.module_name for p in BASE_PLANS)})"
            )
        if plan in sold:
            raise InvalidLicenseSet(f"{module.label}: the plan {plan.name} is already sold")
        sold[plan] = module
        if module.license_type != USER_LICENSE:
            raise InvalidLicenseSet(f"{module.label}: a user plan must have licenseType 3")
        if module.license_number is None:
            raise InvalidLicenseSet(f"{module.label}: a user plan needs a licenseNumber")
        try:
            names = parse_set_info(module.extra_info)
        except InvalidSetInfo as exc:
            raise InvalidLicenseSet(f"{module.label}: malformed set= list: {exc}") from None
        for name in names:
            _check_implied(module, name, by_name.get(name, []))
        implied.update(names)

    for module in modules:
        if module.license_number is None and (
            module.is_plan or module.license_type != USER_LICENSE
        ):
            raise InvalidLicenseSet(f"{module.label} needs a licenseNumber")
        if module.license_number is None and module.module_name not in implied:
            raise InvalidLicenseSet(
                f"{module.label} has no licenseNumber and no plan implies it, "
                "so its seats cannot be computed"
            )
        if module.prerequisite_module and module.prerequisite_module not in by_name:
            raise InvalidLicenseSet(
                f"{module.label}: prerequisiteModule {module.prerequisite_module!r} "
                "is not in the license set"
            )


def _check_implied(plan_module: ModuleSpec, name: str, targets: list[ModuleSpec]) -> None:
    where = f"{plan_module.label}: its set= names {name!r}"
    if not targets:
        raise InvalidLicenseSet(f"{where}, which is not in the license set")
    if len(targets) > 1:
        raise InvalidLicenseSet(f"{where}, which is ambiguous: it has several versions")
    target = targets[0]
    if target.is_plan:
        raise InvalidLicenseSet(f"{where}, which is itself a user plan")
    if target.license_type != USER_LICENSE:
        raise InvalidLicenseSet(f"{where}, which is not a user license (licenseType 3)")


# --- JSON -------------------------------------------------------------------

_OWNER_TEXT = {
    "ownerName": "owner_name",
    "ownerDescription": "owner_description",
    "companyName": "company_name",
    "serialNumber": "serial_number",
    "signature": "signature",
}
_OWNER_DATES = {
    "expiration": "expiration",
    "graceTo": "grace_to",
    "maintenanceTo": "maintenance_to",
    "adminWarningDate": "admin_warning_date",
    "nextCheckDate": "next_check_date",
}
_MODULE_REQUIRED = {"moduleName", "licenseType"}
_MODULE_FIELDS = {
    "moduleName": "module_name",
    "moduleDescription": "module_description",
    "moduleVersion": "module_version",
    "licenseType": "license_type",
    "licenseNumber": "license_number",
    "unrestricted": "unrestricted",
    "hidden": "hidden",
    "extraFlags": "extra_flags",
    "extraInfo": "extra_info",
    "prerequisiteModule": "prerequisite_module",
    "sortOrder": "sort_order",
    "signature": "signature",
}


def parse_license_set(data: Mapping[str, Any]) -> LicenseSetSpec:
    """A validated LicenseSetSpec from the JSON shape; InvalidLicenseSet naming
    the bad module and field otherwise. Keys starting with ``_`` are comments;
    any other unknown key is an error."""
    if not isinstance(data, Mapping):
        raise InvalidLicenseSet("a license set must be a JSON object")
    _check_keys(data, "the license set", ("format", "owner", "modules"), {"format", "owner"})
    if not _is_int(data["format"]) or data["format"] != FORMAT:
        raise InvalidLicenseSet(f"unsupported license set format {data['format']!r}; expected 1")
    raw_modules = data.get("modules", [])
    if not isinstance(raw_modules, list):
        raise InvalidLicenseSet("modules must be a list")
    return LicenseSetSpec(
        owner=_parse_owner(data["owner"]),
        modules=tuple(_parse_module(i, raw) for i, raw in enumerate(raw_modules)),
        format=FORMAT,
    )


@cache
def load_default() -> LicenseSetSpec:
    """The license set a new tenant gets (``data/default_license_set.json``)."""
    path = resources.files("licensing_core").joinpath("data", "default_license_set.json")
    return parse_license_set(json.loads(path.read_text(encoding="utf-8")))


def license_set_to_json(spec: LicenseSetSpec) -> dict[str, Any]:
    """The JSON shape ``parse_license_set`` reads, signatures included (its inverse)."""
    owner: dict[str, Any] = {key: getattr(spec.owner, attr) for key, attr in _OWNER_TEXT.items()}
    for key, attr in _OWNER_DATES.items():
        value = getattr(spec.owner, attr)
        owner[key] = None if value is None else value.isoformat()
    if not owner["signature"]:
        del owner["signature"]
    modules = []
    for module in spec.modules:
        raw = {key: getattr(module, attr) for key, attr in _MODULE_FIELDS.items()}
        if raw["licenseNumber"] is None:
            del raw["licenseNumber"]
        if not raw["signature"]:
            del raw["signature"]
        modules.append(raw)
    return {"format": spec.format, "owner": owner, "modules": modules}


def _parse_owner(raw: Any) -> OwnerSpec:
    if not isinstance(raw, Mapping):
        raise InvalidLicenseSet("owner must be a JSON object")
    _check_keys(raw, "owner", (*_OWNER_TEXT, *_OWNER_DATES), {"ownerName"})
    values: dict[str, Any] = {}
    for key, attr in _OWNER_TEXT.items():
        value = raw.get(key, "")
        if not isinstance(value, str):
            raise InvalidLicenseSet(wrong_type(f"owner {key}", "a string", value))
        values[attr] = value
    name = values["owner_name"]
    if _OWNER_NAME.fullmatch(name) is None:
        raise InvalidLicenseSet(f"owner ownerName must be an upper-case code name, got {name!r}")
    for key, attr in _OWNER_DATES.items():
        values[attr] = _parse_date(raw.get(key), f"owner {key}")
    return OwnerSpec(**values)


def _parse_date(value: Any, where: str) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidLicenseSet(wrong_type(where, "an ISO 8601 date or null", value))
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidLicenseSet(f"{where} is not an ISO 8601 date: {value!r}") from None
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment


def _parse_module(index: int, raw: Any) -> ModuleSpec:
    where = f"modules[{index}]"
    if not isinstance(raw, Mapping):
        raise InvalidLicenseSet(f"{where} must be a JSON object")
    name = raw.get("moduleName")
    if isinstance(name, str):
        where = f"{where} ({name!r})"
    _check_keys(raw, where, tuple(_MODULE_FIELDS), _MODULE_REQUIRED)
    if not isinstance(name, str) or not is_module_name(name):
        raise InvalidLicenseSet(f"{where}: moduleName must match {NAME_RULE}, got {name!r}")
    values: dict[str, Any] = {"license_number": None, "sort_order": index + 1}
    for key, attr in _MODULE_FIELDS.items():
        if key not in raw:
            continue
        value = raw[key]
        if key in ("licenseType", "licenseNumber", "extraFlags", "sortOrder"):
            if not _is_int(value):
                raise InvalidLicenseSet(wrong_type(f"{where}: {key}", "an integer", value))
            if key == "licenseNumber" and value < 1:
                raise InvalidLicenseSet(f"{where}: licenseNumber must be >= 1, got {value}")
            if key == "extraFlags" and value < 0:
                raise InvalidLicenseSet(f"{where}: extraFlags must be >= 0, got {value}")
            if key == "sortOrder" and value < 1:
                raise InvalidLicenseSet(f"{where}: sortOrder must be >= 1, got {value}")
        elif key in ("hidden", "unrestricted"):
            if not isinstance(value, bool):
                raise InvalidLicenseSet(wrong_type(f"{where}: {key}", "true or false", value))
        elif not isinstance(value, str):
            raise InvalidLicenseSet(wrong_type(f"{where}: {key}", "a string", value))
        if key == "moduleVersion" and not value:
            raise InvalidLicenseSet(f"{where}: moduleVersion must not be empty")
        values[attr] = value
    return ModuleSpec(**values)


def _check_keys(
    raw: Mapping[str, Any], where: str, known: Sequence[str], required: set[str]
) -> None:
    unknown = [key for key in raw if key not in known and not str(key).startswith("_")]
    if unknown:
        raise InvalidLicenseSet(f"{where}: {unknown_fields(unknown, known)}")
    missing = [key for key in known if key in required and key not in raw]
    if missing:
        raise InvalidLicenseSet(f"{where}: {missing_fields(missing)}")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)

"""Domain errors of the license system; the HTTP edge maps them to SCIM errors."""

from __future__ import annotations

from datetime import datetime


class LicensingError(Exception):
    """Base of every error the licensing core raises on purpose."""


class InvalidCombination(LicensingError, ValueError):
    """A plan name or combination that is not one of the 26 valid ones."""


class InvalidSetInfo(LicensingError, ValueError):
    """A modulelicense ``extraInfo`` whose ``set=`` list is malformed."""


class InvalidLicenseSet(LicensingError, ValueError):
    """A license set description (JSON) that cannot be installed."""


class SeatShortage(LicensingError):
    """A module has fewer free seats than a grant needs."""

    def __init__(self, module_name: str, needed: int, free: int) -> None:
        self.module_name = module_name
        self.needed = needed
        self.free = free
        super().__init__(f"no free seat on module {module_name!r}: {needed} needed, {free} free")


class UnknownModule(LicensingError):
    """A plan or implied license that the tenant's license set does not contain."""

    def __init__(self, module_name: str) -> None:
        self.module_name = module_name
        super().__init__(f"the license set has no module {module_name!r}")


class LicenseInvalid(LicensingError):
    """A module whose license row (or whose set) fails its signature: it stops working."""

    def __init__(self, module_name: str, problem: str) -> None:
        self.module_name = module_name
        self.problem = problem
        super().__init__(f"license invalid: module {module_name!r}: {problem}")


class LicenseExpired(LicensingError):
    """The license set is past its stop date: licenses are read-only."""

    def __init__(self, stopped: datetime) -> None:
        self.stopped = stopped
        super().__init__(
            f"license expired: the license set stopped on {stopped.isoformat(sep=' ')}; "
            "license assignments are read-only until a new license set is imported"
        )


class UnknownTenant(LicensingError, LookupError):
    """A tenant id that does not exist."""

"""The one settings object: ``SCIMSRV_*`` environment variables, the same names
as the CLI options (pydantic-settings)."""

from __future__ import annotations

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from licensing_core.db import DEFAULT_LOCK_TIMEOUT
from licensing_core.signing import KeyRing, keyring_from

# SCIMSRV_TRUST_TEST_LICENSE_KEY as licensing_core.signing.keyring_from reads it.
TRUST_FLAGS = {"": "", "1": "1", "true": "1", "0": "0", "false": "0"}


# A century: longer retention is "for ever" (0), and a moment that far back
# is beyond what dates can hold.
MAX_RETENTION_DAYS = 36_500


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SCIMSRV_")

    database_url: str = "sqlite:///./scimsrv.db"
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = Field(1, ge=1)
    # The origin identity providers reach us at (e.g. behind a proxy); when
    # unset, the printed base URLs are built from host and port.
    public_url: str | None = None
    # Seconds a request waits for a database lock or connection before it
    # answers 503 with Retry-After.
    lock_timeout: float = Field(DEFAULT_LOCK_TIMEOUT, gt=0)
    # Requests a second per tenant's token (0: no limit) and how many may come
    # at once, in each worker (scimsrv.http.rate_limit).
    rate_limit: float = Field(100.0, ge=0)
    rate_burst: float = Field(300.0, ge=1)
    # The vendor's license-signing public keys: a file path or the keys inline
    # (see licensing_core.signing); "" for none.
    license_public_keys: str = ""
    # "1" trusts the public built-in TEST key, "0" never; "" trusts it only
    # while no vendor key is configured (true and false are read as 1 and 0).
    trust_test_license_key: str = ""
    # Days an audit log entry is kept (0: for ever; at most MAX_RETENTION_DAYS);
    # pruned when `scimsrv serve` starts and by `scimsrv db prune-log`
    # (docs/audit-log.md).
    audit_retention_days: int = Field(365, ge=0, le=MAX_RETENTION_DAYS)
    # A bearer token that reads GET /metrics only (besides any operator
    # token); "" for none.
    metrics_token: SecretStr = SecretStr("")

    @field_validator("trust_test_license_key")
    @classmethod
    def _trust_flag(cls, value: str) -> str:
        flag = TRUST_FLAGS.get(value.strip().lower())
        if flag is None:
            raise ValueError(
                f"{value!r} is not 1, 0, true or false (or empty: trust the TEST key only "
                "while no vendor key is configured)"
            )
        return flag

    def origin(self) -> str:
        """Scheme, host and port of the service as operators hand it to an IdP."""
        if self.public_url:
            return self.public_url.rstrip("/")
        return f"http://{self.host}:{self.port}"

    def tenant_base_url(self, tenant_id: str) -> str:
        """The tenant's SCIM base URL (docs/architecture.md): ``{origin}/t/{tenant}/scim/v2``."""
        return f"{self.origin()}/t/{tenant_id}/scim/v2"

    def keyring(self) -> KeyRing:
        """The trusted license-signing keys (read once per process).

        :raises KeyProblem: the configured keys cannot be read.
        """
        return keyring_from(self.license_public_keys, self.trust_test_license_key)

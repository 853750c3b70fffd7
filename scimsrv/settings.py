"""Configuration from ``SCIMSRV_*`` environment variables (same names as CLI options)."""

from __future__ import annotations

from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SCIMSRV_")

    database_url: str = "sqlite:///./scimsrv.db"
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    # The origin identity providers reach us at (e.g. behind a proxy); when
    # unset, the printed base URLs are built from host and port.
    public_url: str | None = None

    def origin(self) -> str:
        """Scheme, host and port of the service as operators hand it to an IdP."""
        if self.public_url:
            return self.public_url.rstrip("/")
        return f"http://{self.host}:{self.port}"

    def tenant_base_url(self, tenant_id: str) -> str:
        """The tenant's SCIM base URL (DESIGN §3): ``{origin}/t/{tenant}/scim/v2``."""
        return f"{self.origin()}/t/{tenant_id}/scim/v2"

"""Configuration from ``SCIMSRV_*`` environment variables (same names as CLI options)."""

from __future__ import annotations

from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SCIMSRV_")

    database_url: str = "sqlite:///./scimsrv.db"
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1

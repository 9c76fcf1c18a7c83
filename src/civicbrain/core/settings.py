"""All configuration, in one pydantic-settings object (environment prefix ``CIVICBRAIN_``).

Each field's description is the documentation: ``docs/settings.md`` is generated from this class
and a test keeps the two in step. Outside ``environment=development`` the settings refuse the
built-in development secrets, so a production instance cannot start with a key anyone can read
on GitHub.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from civicbrain.core.errors import ConfigurationError

DEV_SECRET = "dev-only-secret-change-me-0123456789abcdef"
DEV_LEDGER_KEY = "dev-only-ledger-pepper-change-me-0123456789"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CIVICBRAIN_", env_file=None, extra="ignore")

    environment: Literal["development", "test", "production"] = Field(
        "development",
        description="Where this instance runs. Anything but 'development' refuses the built-in secrets.",
    )
    database_url: str = Field(
        "sqlite:///var/civicbrain.db",
        description="SQLAlchemy URL. SQLite (WAL) by default; e.g. postgresql+psycopg://user@host/db.",
    )
    secret_key: str = Field(
        DEV_SECRET,
        description="Signs portal sessions. At least 32 characters; must be set outside development.",
    )
    ledger_pepper: str = Field(
        DEV_LEDGER_KEY,
        description="Keyed hash for pseudonymous subject ids in the ledger; must be set outside development.",
    )
    instance_name: str = Field("Demo City", description="The city or region this instance serves.")
    instance_id: str = Field("demo-city", description="Stable short id of this instance, used in federation.")
    host: str = Field("127.0.0.1", description="Address `civicbrain serve` listens on.")
    port: int = Field(8000, ge=1, le=65535, description="Port `civicbrain serve` listens on.")
    appeal_deadline_days: int = Field(
        30, ge=1, le=365, description="Days a reviewer has to decide an appeal before it is overdue."
    )
    token_ttl_hours: int = Field(24, ge=1, le=24 * 90, description="Lifetime of an API bearer token.")
    password_time_cost: int = Field(3, ge=1, le=10, description="argon2id passes (RFC 9106 second choice: 3).")
    password_memory_kib: int = Field(
        65536, ge=1024, le=1048576, description="argon2id memory in KiB (RFC 9106 second choice: 64 MiB)."
    )
    dask_address: str | None = Field(
        None, description="Dask scheduler address (tcp://host:port). When set, bulk jobs run on the cluster."
    )
    reference_data: Path = Field(
        Path("../shared/data"),
        description="Folder of public reference data sets, read by benchmarks only.",
    )

    @model_validator(mode="after")
    def _refuse_unsafe_defaults(self) -> Settings:
        if self.environment != "development":
            if self.secret_key == DEV_SECRET:
                raise ConfigurationError("CIVICBRAIN_SECRET_KEY must be set outside development", field="secret_key")
            if self.ledger_pepper == DEV_LEDGER_KEY:
                raise ConfigurationError(
                    "CIVICBRAIN_LEDGER_PEPPER must be set outside development", field="ledger_pepper"
                )
        if len(self.secret_key) < 32:
            raise ConfigurationError("secret_key must be at least 32 characters", field="secret_key")
        if len(self.ledger_pepper) < 32:
            raise ConfigurationError("ledger_pepper must be at least 32 characters", field="ledger_pepper")
        return self


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once from the environment."""
    return Settings()

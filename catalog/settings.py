"""Settings read from the environment (``SKUFLOW_*``), validated once and cached.

With nothing set, skuflow keeps everything under ``.skuflow/`` in the working directory:
the SQLite store, trained models and validation reports.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SKUFLOW_", extra="ignore")

    home: Path = Field(
        Path(".skuflow"), description="Where the embedded store, models and reports live."
    )
    database_url: str | None = Field(
        None, description="SQLAlchemy URL of the store; a SQLite file under `home` when unset."
    )
    organization: str = Field("default", description="Organization the CLI acts for.")
    batch_size: int = Field(5000, ge=1, le=100_000, description="Records per task batch.")

    @property
    def store_url(self) -> str:
        if self.database_url:
            return normalize_database_url(self.database_url)
        return f"sqlite:///{self.home / 'skuflow.db'}"

    @property
    def reports_dir(self) -> Path:
        return self.home / "reports"

    @property
    def models_dir(self) -> Path:
        return self.home / "models"


def normalize_database_url(url: str) -> str:
    """Accept the URLs people paste (``postgres://``, ``postgresql://``) and use psycopg 3."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


@lru_cache
def get_settings() -> Settings:
    return Settings()

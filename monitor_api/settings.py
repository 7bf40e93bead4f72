"""ApiSettings: everything `create_app` needs, validated at the edge with errors that name the field."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from counterwatch.config.schema import HallConfig

API_PREFIX = "/api/v1"


class ApiSettings(BaseModel):
    """Settings of one API instance. Every limit has a default suited to a single hall on loopback."""

    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)

    database_url: str = Field(min_length=1, description="SQLAlchemy URL (sqlite:////abs/path.db or postgresql://...).")
    data_dir: Path = Field(description="Evidence directory (absolute); evidence paths in the database are relative "
                           "to it.")
    halls: tuple[HallConfig, ...] = Field(min_length=1, description="Hall configs served by this instance.")
    session_secret: SecretStr = Field(description="Key that signs session and bearer tokens (>= 32 characters).")
    cookie_secure: bool = Field(default=False, description="Mark the session cookie Secure (set it behind TLS).")
    cookie_name: str = Field(default="cw_session", pattern=r"^[A-Za-z0-9_\-]{1,40}$")
    session_ttl_s: int = Field(default=12 * 3600, ge=60, le=7 * 86400, description="Dashboard session lifetime.")
    bearer_ttl_s: int = Field(default=3600, ge=60, le=30 * 86400, description="Script bearer token lifetime.")
    max_body_bytes: int = Field(default=64 * 1024, ge=1024, le=64 * 1024 * 1024, description="Request body cap (413).")
    login_ip_limit: int = Field(default=30, ge=1, description="Login attempts per client IP per login_window_s.")
    login_user_limit: int = Field(default=10, ge=1, description="Login attempts per username per login_window_s.")
    login_window_s: float = Field(default=300.0, gt=0, description="Sliding window of the login rate limits.")
    lockout_failures: int = Field(default=5, ge=1, le=100, description="Consecutive failures that lock an account.")
    lockout_minutes: float = Field(default=15.0, gt=0, le=24 * 60, description="How long a locked account stays so.")
    argon2_time_cost: int = Field(default=3, ge=1, le=10)
    argon2_memory_kib: int = Field(default=64 * 1024, ge=1024, le=1024 * 1024)
    argon2_parallelism: int = Field(default=2, ge=1, le=16)
    trust_forwarded_for: bool = Field(default=False, description="Take the client IP from X-Forwarded-For (only "
                                      "behind a reverse proxy that sets it).")
    sse_keepalive_s: float = Field(default=15.0, gt=0, le=300, description="Keep-alive comment interval on SSE.")
    subscriber_queue: int = Field(default=256, ge=1, le=100_000, description="Live-feed messages buffered per "
                                  "subscriber; a subscriber that falls further behind is dropped.")
    expect_cameras: bool = Field(default=False, description="/readyz requires every camera reported online with a "
                                 "fresh frame (true when cameras run in this process tree: `counterwatch run`).")
    max_frame_age_s: float = Field(default=30.0, gt=0, description="/readyz: oldest acceptable last frame of a camera "
                                   "reported online (one reported offline or stalled fails at once).")
    min_free_bytes: int = Field(default=1024**3, ge=0, description="/readyz: free disk required under data_dir.")
    window_status_stale_s: float = Field(default=60.0, gt=0, description="A window status older than this reads "
                                         "'unknown'.")
    evidence_min_free_bytes: int | None = Field(default=None, ge=0, description="Free-disk guard for evidence kept "
                                                "at ingest (None: the storage default).")

    scoring_config: Path | None = Field(default=None, description="configs/scoring.yaml-style file of the appraisal "
                                        "scoring (None: the built-in defaults, which configs/scoring.yaml spells out).")
    appraisal_webhook_url: str | None = Field(default=None, pattern=r"^https?://", max_length=2000,
                                              description="Where score changes and closed periods are POSTed "
                                              "(None: no webhook). Signed with COUNTERWATCH_WEBHOOK_SECRET.")
    appraisal_webhook_secret: SecretStr | None = Field(default=None, description="HMAC key of the webhook (None: "
                                                       "read from the environment variable "
                                                       "COUNTERWATCH_WEBHOOK_SECRET when the app starts).")
    webhook_timeout_s: float = Field(default=10.0, gt=0, le=120, description="Timeout of one delivery attempt.")
    webhook_max_attempts: int = Field(default=8, ge=1, le=50, description="Attempts before a delivery is failed.")
    webhook_backoff_s: float = Field(default=30.0, gt=0, le=3600, description="First retry delay; doubles after "
                                     "each failed attempt (capped at one hour).")
    webhook_poll_s: float = Field(default=2.0, gt=0, le=600, description="How often the delivery worker looks for "
                                  "due deliveries and closed periods.")
    webhook_period_close: bool = Field(default=True, description="Also push the scores of the previous month and "
                                       "year once they have closed.")

    @field_validator("halls", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return (value,) if isinstance(value, HallConfig) else value

    @field_validator("halls")
    @classmethod
    def _unique_halls(cls, value: tuple[HallConfig, ...]) -> tuple[HallConfig, ...]:
        ids = [config.hall.id for config in value]
        if len(set(ids)) != len(ids):
            raise ValueError(f"hall ids must be unique, got {ids}")
        return value

    @field_validator("session_secret")
    @classmethod
    def _strong_secret(cls, value: SecretStr) -> SecretStr:
        if len(value.get_secret_value()) < 32:
            raise ValueError("session_secret must have at least 32 characters")
        return value

    @field_validator("data_dir")
    @classmethod
    def _absolute(cls, value: Path) -> Path:
        if not value.is_absolute():
            raise ValueError(f"data_dir must be absolute, got {value}")
        return value

    def hall(self, hall_id: str) -> HallConfig | None:
        return next((config for config in self.halls if config.hall.id == hall_id), None)

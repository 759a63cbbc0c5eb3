"""Settings, read once from the environment (``SAFECREDIT_…``) through :func:`get_settings`.

Nested groups use a double underscore: ``SAFECREDIT_DATABASE__URL``. The short form
``SAFECREDIT_DATABASE_URL`` is accepted too.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

VAR = Path("var")


class DatabaseSettings(BaseModel):
    url: str = f"sqlite:///{VAR / 'safecredit.db'}"
    echo: bool = False


class IngestSettings(BaseModel):
    uscc_check: Literal["strict", "warn"] = "strict"
    uscc_allow_list: Path | None = None  # one code a line, accepted despite a failed check
    max_problems: int = 200  # reported per load before the list is cut


class MlflowSettings(BaseModel):
    tracking_uri: str = f"sqlite:///{VAR / 'mlflow.db'}"
    artifact_root: Path = VAR / "mlartifacts"
    experiment: str = "safecredit"
    model_name: str = "safecredit-risk"
    alias: str = "champion"


class ServiceSettings(BaseModel):
    """Limits of the HTTP service (the ``service`` group of the settings when it has one)."""

    max_codes: int = Field(default=10_000, ge=1)  # per registry check or quote batch
    pool_timeout_seconds: float = Field(default=2.0, gt=0)  # waiting for a pooled connection
    # connections kept open: as many as requests run at once (the threadpool's 40 threads),
    # so that none is opened and closed again per request under load
    pool_size: int = Field(default=40, ge=1)
    # A database that stops answering gives 503s within 5 s: at worst a pooled connection's
    # ping waits the reply timeout, then a new connection the connect timeout. PostgreSQL: a
    # silent server is found by the client's reply timeout, a dead network by keepalives and
    # the TCP user timeout, a slow statement is cancelled by the server's statement timeout.
    connect_timeout_seconds: int = Field(default=2, ge=1)  # opening one (libpq: 2 s at least)
    statement_timeout_seconds: float = Field(default=1.5, gt=0)  # PostgreSQL cancels a statement
    # waiting for any answer on an open connection before it is dropped (client side, every
    # round trip including the pool's ping); above the statement timeout, so that a slow
    # statement is cancelled by the server and its connection kept
    reply_timeout_seconds: float = Field(default=2.0, gt=0)
    keepalives_idle_seconds: int = Field(default=10, ge=1)  # TCP keepalives on server links
    keepalives_interval_seconds: int = Field(default=2, ge=1)
    keepalives_count: int = Field(default=3, ge=1)
    tcp_user_timeout_seconds: float = Field(default=4.0, gt=0)  # data sent but unacknowledged
    sqlite_busy_timeout_seconds: float = Field(default=3.0, ge=0)  # a locked SQLite file
    ready_timeout_seconds: float = Field(default=1.5, gt=0)  # /readyz's database probe
    model_retry_seconds: float = Field(default=30.0, ge=0)  # between tries to load a champion
    entries_page_max: int = Field(default=1_000, ge=1)
    # the enterprise page's sign-in: the cookie holds a session id (never the key), HttpOnly,
    # SameSite=Strict and Secure — unless plain_http says the service is reached over plain HTTP
    # on a loopback address (127.0.0.1, ::1, localhost; `safecredit serve` on 127.0.0.1 turns it
    # on), and then only for requests to such an address
    cookie_name: str = "safecredit_session"
    csrf_cookie_name: str = "safecredit_csrf"  # the pre-session cookie the forms' token matches
    session_minutes: int = Field(default=480, ge=1)  # a sign-in's lifetime
    plain_http: bool = False
    # origins a form may be posted from besides the service's own (e.g. the public https origin
    # when a proxy in front does not forward the scheme and host)
    origins: list[str] = Field(default_factory=list)
    last_used_every_seconds: float = Field(default=60.0, ge=0)  # a key's last use, per process
    # days whose score books are kept (ISO dates or "today"; [] for none): a score or quote on
    # such a day is a lookup; see service.engine.books
    book_days: list[str] = Field(default_factory=lambda: ["today"])
    key_cache_seconds: float = Field(default=5.0, ge=0)  # a revoked key's grace elsewhere
    # the largest request body, in bytes (413 past it): a check of 10,000 codes each with a
    # 200-character reference is about 2.5 MB
    max_body_bytes: int = Field(default=4 * 1024 * 1024, ge=1024)
    # one file filed with an objection or a repair application (PDF or image), in bytes; the
    # whole form stays under max_body_bytes too
    attachment_max_bytes: int = Field(default=2 * 1024 * 1024, ge=1024)
    queue_expiry_days: int = Field(default=30, ge=1)  # the regulator's queue: terms ending soon
    # a registry check for now is answered from an in-memory copy of the registry, checked
    # against the database's chain head at most this often (another process's registry actions
    # are seen within it; this process's at once); checks of more codes than snapshot_codes_max
    # are answered in the threadpool (a large answer's JSON would stall the event loop)
    snapshot_refresh_ms: float = Field(default=200.0, gt=0)
    snapshot_codes_max: int = Field(default=100, ge=0)


class RegistrySettings(BaseModel):
    """The joint-punishment registry's clock: its today is the date in this time zone."""

    time_zone: str = "Asia/Shanghai"

    @field_validator("time_zone")
    @classmethod
    def _known_zone(cls, name: str) -> str:
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {name!r}") from exc
        return name


class SparkSettings(BaseModel):
    """Batch runs on Apache Spark (``--engine spark``) and the Parquet export they read."""

    master: str = "local[2]"  # or spark://host:7077, yarn, k8s://https://host:443
    app_name: str = "safecredit"
    driver_memory: str = "4g"  # takes effect when the command starts the JVM
    executor_memory: str = "4g"  # per executor on a cluster (local mode: the driver's)
    shuffle_partitions: int = Field(default=16, ge=1)  # spark.sql.shuffle.partitions
    groups: int = Field(default=64, ge=0)  # enterprise groups per run; 0: one per enterprise
    arrow_batch_rows: int = Field(default=10_000, ge=1)  # rows per Arrow batch to Python
    history_dir: Path = VAR / "history"  # where export-history writes and --engine spark reads
    export_buckets: int = Field(default=64, ge=1)  # hash buckets of the export
    log_level: str = "WARN"
    ui: bool = False  # the Spark web UI on port 4040
    conf: dict[str, str] = Field(default_factory=dict)  # any further spark.* settings


class NotifySettings(BaseModel):
    """Change notifications: the webhook worker, its retries, and which hosts it may call."""

    # the worker inside `safecredit serve` too (else run `safecredit notify run` beside it)
    worker_in_serve: bool = False
    # hosts (names or IP networks such as 10.0.0.0/8) webhooks may call besides loopback ones
    allowed_hosts: list[str] = Field(default_factory=list)
    batch: int = Field(default=100, ge=1, le=10_000)  # deliveries one worker claims at a time
    # POSTs a worker has in flight at once (each answer recorded as soon as it is in; a worker
    # killed sends again at most this many that the receiver had already accepted)
    concurrency: int = Field(default=4, ge=1, le=64)
    poll_seconds: float = Field(default=1.0, gt=0)  # a worker's pause when nothing is due
    lease_seconds: float = Field(default=120.0, gt=0)  # a claim lapses after it (a dead worker)
    timeout_seconds: float = Field(default=10.0, gt=0)  # one POST, connect to last byte
    max_attempts: int = Field(default=8, ge=1, le=100)  # then the delivery is dead
    backoff_seconds: float = Field(default=2.0, gt=0)  # before the 2nd attempt; doubles after
    backoff_max_seconds: float = Field(default=3600.0, gt=0)
    max_codes: int = Field(default=100_000, ge=1)  # codes added or removed per request
    page_max: int = Field(default=1_000, ge=1)  # events per page of the change feed


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="SAFECREDIT_", env_nested_delimiter="__", extra="ignore"
    )

    var_dir: Path = VAR
    # the key the registry chain and the decision ledger are sealed and signed with: a file
    # outside the database, mode 0600, created on first use (SAFECREDIT_SIGNING_KEY_FILE)
    signing_key_file: Path = VAR / "signing.key"
    database: DatabaseSettings = DatabaseSettings()
    ingest: IngestSettings = IngestSettings()
    mlflow: MlflowSettings = MlflowSettings()
    service: ServiceSettings = ServiceSettings()
    registry: RegistrySettings = RegistrySettings()
    spark: SparkSettings = SparkSettings()
    notify: NotifySettings = NotifySettings()

    @model_validator(mode="before")
    @classmethod
    def _short_database_url(cls, data: Any) -> Any:
        url = os.environ.get("SAFECREDIT_DATABASE_URL")
        if url and isinstance(data, dict):
            database = dict(data.get("database") or {})
            database.setdefault("url", url)
            data = {**data, "database": database}
        return data


@lru_cache
def get_settings() -> Settings:
    return Settings()

"""Configuration from environment variables, all under the CUNBAN_ prefix (see README.md)."""
from __future__ import annotations

import os
from functools import lru_cache
from ipaddress import IPv4Network, IPv6Network, ip_network
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.broker import failover_url
from shared.clock import TEST_CLOCK_FILE

DEVELOPMENT_SECRET = "development-only-secret-change-me-0000000"
DEVELOPMENT_PII_KEY = "dev:ZGV2ZWxvcG1lbnQtb25seS1waWkta2V5LTAwMDAwMDA="
# how .env.example's placeholders read ("replace-with-…", "replace-me…"): production refuses them anywhere
PLACEHOLDER_MARKS = ("replace-with", "replace-me")


def is_placeholder(value: str) -> bool:
    return any(mark in value.lower() for mark in PLACEHOLDER_MARKS)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CUNBAN_", extra="ignore")

    environment: Literal["development", "production"] = "development"
    # the broker: one URI, or every node of a RabbitMQ cluster as URIs separated by commas. Each process
    # takes them in an order of its own (kombu's failover URL, shared/broker.py) and moves to a live node
    # when its node goes away. `memory://` is the embedded system's in-process broker.
    amqp_uri: str = "memory://"
    # A URL template: "{service}" is replaced by the service name, so each service gets its own
    # database (SQLite file or PostgreSQL database). Empty means SQLite files under data_dir.
    db_url: str = ""
    data_dir: Path = Path("data")
    # the gateway's audit entries not yet confirmed by the broker (gateway/audit_spool.py); empty means
    # gateway-audit.jsonl under data_dir. Keep it on a volume that outlives the gateway's process.
    audit_spool: Path | None = None
    secret_key: str = DEVELOPMENT_SECRET
    token_ttl_minutes: int = Field(default=480, ge=1, le=7 * 24 * 60)
    rpc_timeout_seconds: float = Field(default=10.0, gt=0)
    rpc_pool_size: int = Field(default=16, ge=1)
    http_host: str = "127.0.0.1"
    http_port: int = 8080
    # the county's public address for villagers (the QR code on a receipt points to <public_url>/q/<receipt_no>);
    # unset: the address the request came in on
    public_url: str | None = None
    # where county IT opens Grafana (compose: http://<host>:3000): the system-health page links to the
    # dashboards at <grafana_url>/d/<uid>; unset: no links
    grafana_url: str | None = None
    max_body_bytes: int = Field(default=1_048_576, ge=1024)  # larger request bodies get 413
    # request rate limits of each gateway process (429 with Retry-After beyond them): per client address
    # (a station's whole office may share one) and per signed-in account or station key
    client_requests_per_minute: int = Field(default=1200, ge=1)
    account_requests_per_minute: int = Field(default=600, ge=1)
    # the proxies in front of the gateway (the county's ingress, a load balancer), as CIDRs, comma-separated:
    # only a request that arrives from one of them has its client address read from X-Forwarded-For (the
    # nearest address there that is not one of them); empty: the connecting address is the client
    trusted_proxies: str = ""
    # how long the gateway trusts a session or station key it checked before asking the directory again;
    # signing out, disabling an account or revoking a key reaches every gateway at once as an event
    # (gateway/revocations.py), so this only bounds a gateway cut off from the broker
    session_check_seconds: float = Field(default=10, ge=0)
    metrics_port: int = 9100
    log_level: str = "INFO"
    # a gateway request or a service handler slower than this is logged at WARNING with where its time went
    slow_seconds: float = Field(default=1.0, gt=0)
    outbox_poll_seconds: float = Field(default=5.0, gt=0)  # a safety net: commits wake the relay
    sweep_seconds: float = Field(default=30, gt=0)  # how often due deadlines and ended sessions are swept
    reminder_hours: float = Field(default=12, gt=0, le=168)  # how long before a session its reminder goes
    # AES-256-GCM keys for personal data at rest, "key_id:base64(32 bytes)", comma-separated; the first
    # encrypts, all decrypt (rotation: put the new key first, re-encrypt, then drop the old one)
    pii_keys: str = DEVELOPMENT_PII_KEY
    # base64 of 32 bytes keying the search hashes of personal data (ID numbers, look-up codes, contact
    # checks); kept apart from pii_keys so they rotate without re-hashing. Required in production.
    pii_search_key: str = ""
    # backups (`cunban backup`, cunban/backup.py): where the sets go (a directory or s3://bucket/prefix),
    # the S3 endpoint and keys (MinIO in compose), and how long sets are kept
    backup_target: str = ""
    backup_s3_endpoint: str = ""
    backup_s3_access_key: str = ""
    backup_s3_secret_key: str = ""
    backup_every_hours: float = Field(default=6, gt=0)
    backup_keep_days: float = Field(default=14, gt=0)
    backup_keep_last: int = Field(default=7, ge=1)

    @model_validator(mode="after")
    def _refuse_default_secret_in_production(self) -> Settings:
        """Production refuses a secret that is missing, the published development value, or still
        .env.example's placeholder, naming every variable at fault at once."""
        if self.environment != "production":
            return self
        problems = []
        if self.secret_key == DEVELOPMENT_SECRET or len(self.secret_key) < 32 or is_placeholder(self.secret_key):
            problems.append("CUNBAN_SECRET_KEY must be a random value of 32+ characters in production "
                            "(e.g. openssl rand -hex 32), not missing, the development value or a placeholder")
        if DEVELOPMENT_PII_KEY in self.pii_keys or is_placeholder(self.pii_keys):
            problems.append("CUNBAN_PII_KEYS must hold a production key, not missing, the development key or a "
                            "placeholder (see docs/PERSONAL_DATA.md)")
        if not self.pii_search_key or is_placeholder(self.pii_search_key):
            problems.append("CUNBAN_PII_SEARCH_KEY must be set in production, not a placeholder "
                            "(see docs/PERSONAL_DATA.md)")
        if is_placeholder(self.amqp_uri):
            problems.append("CUNBAN_AMQP_URI carries a placeholder password (set RABBITMQ_PASSWORD in .env)")
        if is_placeholder(self.db_url):
            problems.append("CUNBAN_DB_URL carries a placeholder password (set POSTGRES_PASSWORD in .env)")
        if os.environ.get(TEST_CLOCK_FILE):
            problems.append(f"{TEST_CLOCK_FILE} moves the clock of a test system; never set it in production")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def trusted_networks(self) -> tuple[IPv4Network | IPv6Network, ...]:
        return tuple(ip_network(cidr.strip(), strict=False) for cidr in self.trusted_proxies.split(",")
                     if cidr.strip())

    @model_validator(mode="after")
    def _amqp_nodes_shuffled(self) -> Settings:
        self.amqp_uri = failover_url(self.amqp_uri)
        return self

    @model_validator(mode="after")
    def _trusted_proxies_are_networks(self) -> Settings:
        try:
            self.trusted_networks()
        except ValueError as exc:
            raise ValueError(f"CUNBAN_TRUSTED_PROXIES must be CIDRs separated by commas: {exc}") from None
        return self

    def audit_spool_file(self) -> Path:
        return self.audit_spool or self.data_dir / "gateway-audit.jsonl"

    def database_url(self, service: str) -> str:
        if self.db_url:
            return self.db_url.replace("{service}", service)
        return f"sqlite:///{(self.data_dir / f'{service}.db').resolve()}"


@lru_cache
def get_settings() -> Settings:
    return Settings()

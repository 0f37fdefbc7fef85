"""Settings: working defaults for one machine, overridden by environment variables.

This is the only module that reads ``os.environ``; everything else receives a ``Config``.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, replace
from pathlib import Path

from helpdesk.maildomain import InvalidMailDomain, mail_domain, parse_mail_domain

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class ConfigError(ValueError):
    """An environment variable holds a value that cannot be used."""


def _int(env: dict[str, str], name: str, default: int, *, minimum: int | None = None) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, got {raw!r}") from None
    if minimum is not None and value < minimum:
        raise ConfigError(f"{name} must be at least {minimum}, got {value}")
    return value


def _bool(env: dict[str, str], name: str, default: bool) -> bool:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    if raw.lower() in ("1", "true", "yes", "on"):
        return True
    if raw.lower() in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{name} must be true or false, got {raw!r}")


def _mail_domain(env: dict[str, str], public_url: str) -> str | None:
    """MAIL_DOMAIN checked; without it PUBLIC_URL's host must make a mail domain, which is
    checked here too, so that no send fails on it later."""
    raw = (env.get("MAIL_DOMAIN") or "").strip()
    try:
        if raw:
            return parse_mail_domain(raw)
        mail_domain(public_url)
    except InvalidMailDomain as exc:
        if raw:
            raise ConfigError(
                f"MAIL_DOMAIN must be a domain name or a domain literal, got {raw!r}: {exc}"
            ) from None
        raise ConfigError(
            f"PUBLIC_URL's host cannot be the mail domain ({exc}); set MAIL_DOMAIN"
        ) from None
    return None


def _secret_key(instance_path: Path) -> str:
    """Keep a generated key in instance/ so sessions and signed links survive restarts."""
    key_file = instance_path / "secret_key"
    if key_file.exists():
        return key_file.read_text().strip()
    instance_path.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    key_file.write_text(key)
    key_file.chmod(0o600)
    return key


def reachable_host(bind_host: str) -> str:
    """The address a browser on this machine reaches a server bound to `bind_host` at:
    the loopback address in place of a wildcard."""
    return {"": "127.0.0.1", "0.0.0.0": "127.0.0.1", "::": "::1"}.get(bind_host, bind_host)


def _public_url(env: dict[str, str], host: str, port: int) -> str:
    """PUBLIC_URL, or else the address the web server listens on, so that moving HOST or
    PORT alone still gives working links in mail."""
    if env.get("PUBLIC_URL"):
        return env["PUBLIC_URL"].rstrip("/")
    reachable = reachable_host(host)
    return f"http://{f'[{reachable}]' if ':' in reachable else reachable}:{port}"


@dataclass(frozen=True)
class Config:
    instance_path: Path
    database_url: str
    secret_key: str
    redis_url: str | None = None
    smtp_url: str | None = None
    public_url: str = "http://127.0.0.1:5000"
    mail_domain: str | None = None  # MAIL_DOMAIN, checked; None: PUBLIC_URL's host
    host: str = "127.0.0.1"
    port: int = 5000
    sink_host: str = "127.0.0.1"
    sink_port: int = 1025
    default_language: str = "en"
    default_timezone: str = "UTC"
    login_max_failures: int = 5
    login_lockout_minutes: int = 15
    login_ip_max_failures: int = 20
    login_ip_delay_ms: int = 500
    login_ip_max_delay_ms: int = 5000
    password_reset_minutes: int = 30
    import_max_bytes: int = 50 * 1024 * 1024
    mailbox_poll_batch: int = 200
    mailbox_poll_batch_bytes: int = 32 * 1024 * 1024
    poll_time_budget_seconds: int = 300
    poll_size_budget_bytes: int = 200 * 1024 * 1024
    smtpd_host: str = "127.0.0.1"
    smtpd_port: int = 2525
    smtpd_max_bytes: int = 30 * 1024 * 1024
    campaign_rate_per_second: int = 50
    campaign_batch_size: int = 100
    campaign_concurrency: int = 2
    campaign_max_consecutive_failures: int = 20
    campaign_max_attempts: int = 5
    campaign_retry_base_seconds: int = 60
    campaign_lease_seconds: int = 600
    campaign_slice_seconds: int = 60
    campaign_check_seconds: int = 30
    # Webhook endpoints may resolve to loopback/private addresses only when this is set
    # (a receiver on the same network); otherwise they are refused as an SSRF risk.
    webhooks_allow_private: bool = False
    webhooks_timeout_seconds: int = 10
    webhooks_lease_seconds: int = 30
    webhooks_concurrency: int = 2
    soft_bounce_limit: int = 3
    machine_open_seconds: int = 10
    trusted_proxies: int = 0
    # API requests per token per window, unless the token sets its own limit.
    api_rate_limit: int = 600
    api_rate_window_seconds: int = 60
    # How long a POST's Idempotency-Key is remembered, and how long a request that
    # reserved one may run before a retry takes the key over (it is presumed dead).
    api_idempotency_ttl_hours: int = 24
    api_idempotency_lease_seconds: int = 300
    testing: bool = False
    csrf_enabled: bool = True

    @property
    def uses_embedded_redis(self) -> bool:
        return self.redis_url is None

    @property
    def embedded_redis_socket(self) -> Path:
        return self.instance_path / "redis.sock"

    @property
    def effective_redis_url(self) -> str:
        return self.redis_url or f"unix://{self.embedded_redis_socket}"

    @property
    def effective_smtp_url(self) -> str:
        """Outgoing mail goes to the built-in sink unless a relay is configured."""
        return self.smtp_url or f"smtp://{self.sink_host}:{self.sink_port}"

    @property
    def effective_mail_domain(self) -> str:
        """The domain of our Message-IDs and bounce/unsubscribe return addresses."""
        return mail_domain(self.public_url, self.mail_domain)

    @property
    def maildir_path(self) -> Path:
        return self.instance_path / "maildir"

    @property
    def session_cookie_secure(self) -> bool:
        return self.public_url.startswith("https://")

    def with_overrides(self, **changes) -> Config:
        return replace(self, **changes)

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Config:
        env = dict(os.environ if env is None else env)
        instance_path = Path(env.get("HELPDESK_INSTANCE", PROJECT_ROOT / "instance")).resolve()
        database_url = env.get("DATABASE_URL") or f"sqlite:///{instance_path / 'helpdesk.db'}"
        host = env.get("HOST", "127.0.0.1")
        port = _int(env, "PORT", 5000)
        public_url = _public_url(env, host, port)
        return cls(
            instance_path=instance_path,
            database_url=normalize_database_url(database_url),
            secret_key=env.get("SECRET_KEY") or _secret_key(instance_path),
            redis_url=env.get("REDIS_URL") or None,
            smtp_url=env.get("SMTP_URL") or None,
            public_url=public_url,
            mail_domain=_mail_domain(env, public_url),
            host=host,
            port=port,
            sink_host=env.get("SINK_HOST", "127.0.0.1"),
            sink_port=_int(env, "SINK_PORT", 1025),
            default_language=env.get("DEFAULT_LANGUAGE", "en"),
            default_timezone=env.get("DEFAULT_TIMEZONE", "UTC"),
            login_max_failures=_int(env, "LOGIN_MAX_FAILURES", 5),
            login_lockout_minutes=_int(env, "LOGIN_LOCKOUT_MINUTES", 15),
            login_ip_max_failures=_int(env, "LOGIN_IP_MAX_FAILURES", 20, minimum=1),
            login_ip_delay_ms=_int(env, "LOGIN_IP_DELAY_MS", 500, minimum=0),
            login_ip_max_delay_ms=_int(env, "LOGIN_IP_MAX_DELAY_MS", 5000, minimum=0),
            password_reset_minutes=_int(env, "PASSWORD_RESET_MINUTES", 30, minimum=5),
            import_max_bytes=_int(env, "IMPORT_MAX_BYTES", 50 * 1024 * 1024),
            mailbox_poll_batch=_int(env, "MAILBOX_POLL_BATCH", 200, minimum=1),
            mailbox_poll_batch_bytes=_int(
                env, "MAILBOX_POLL_BATCH_BYTES", 32 * 1024 * 1024, minimum=1
            ),
            poll_time_budget_seconds=_int(env, "POLL_TIME_BUDGET_SECONDS", 300),
            poll_size_budget_bytes=_int(env, "POLL_SIZE_BUDGET_BYTES", 200 * 1024 * 1024),
            smtpd_host=env.get("SMTPD_HOST", "127.0.0.1"),
            smtpd_port=_int(env, "SMTPD_PORT", 2525),
            smtpd_max_bytes=_int(env, "SMTPD_MAX_BYTES", 30 * 1024 * 1024),
            campaign_rate_per_second=_int(env, "CAMPAIGN_RATE_PER_SECOND", 50),
            campaign_batch_size=_int(env, "CAMPAIGN_BATCH_SIZE", 100, minimum=1),
            campaign_concurrency=_int(env, "CAMPAIGN_CONCURRENCY", 2, minimum=1),
            campaign_max_consecutive_failures=_int(env, "CAMPAIGN_MAX_CONSECUTIVE_FAILURES", 20),
            campaign_max_attempts=_int(env, "CAMPAIGN_MAX_ATTEMPTS", 5),
            campaign_retry_base_seconds=_int(env, "CAMPAIGN_RETRY_BASE_SECONDS", 60),
            campaign_lease_seconds=_int(env, "CAMPAIGN_LEASE_SECONDS", 600, minimum=1),
            campaign_slice_seconds=_int(env, "CAMPAIGN_SLICE_SECONDS", 60, minimum=1),
            campaign_check_seconds=_int(env, "CAMPAIGN_CHECK_SECONDS", 30, minimum=1),
            webhooks_allow_private=_bool(env, "WEBHOOKS_ALLOW_PRIVATE", False),
            webhooks_timeout_seconds=_int(env, "WEBHOOKS_TIMEOUT_SECONDS", 10, minimum=1),
            webhooks_lease_seconds=_int(env, "WEBHOOKS_LEASE_SECONDS", 30, minimum=1),
            webhooks_concurrency=_int(env, "WEBHOOKS_CONCURRENCY", 2, minimum=1),
            soft_bounce_limit=_int(env, "SOFT_BOUNCE_LIMIT", 3),
            machine_open_seconds=_int(env, "MACHINE_OPEN_SECONDS", 10),
            trusted_proxies=_int(env, "TRUSTED_PROXIES", 0),
            api_rate_limit=_int(env, "API_RATE_LIMIT", 600, minimum=1),
            api_rate_window_seconds=_int(env, "API_RATE_WINDOW_SECONDS", 60, minimum=1),
            api_idempotency_ttl_hours=_int(env, "API_IDEMPOTENCY_TTL_HOURS", 24, minimum=1),
            api_idempotency_lease_seconds=_int(
                env, "API_IDEMPOTENCY_LEASE_SECONDS", 300, minimum=1
            ),
            csrf_enabled=_bool(env, "CSRF_ENABLED", True),
        )


def read_secret(ref: str) -> str:
    """Resolve a secret reference (``env:NAME`` or ``file:/path``) without ever echoing it.

    Mailbox passwords are stored as references so the database and its backups never
    hold them; errors name the reference, never the value.
    """
    kind, _, target = ref.partition(":")
    if kind == "env" and target:
        value = os.environ.get(target)
        if value is None:
            raise ConfigError(f"environment variable {target} (from {ref!r}) is not set")
        return value
    if kind == "file" and target.startswith("/"):
        try:
            return Path(target).read_text(encoding="utf-8").rstrip("\r\n")
        except OSError as exc:
            raise ConfigError(f"cannot read secret file {target}: {exc.strerror}") from None
    raise ConfigError(f"secret reference {ref!r} must look like env:NAME or file:/path")


def normalize_database_url(url: str) -> str:
    """Use psycopg 3 for plain postgres URLs, as hosting providers hand them out."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url

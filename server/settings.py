"""Settings read once from FLOORSYNC_* environment variables."""

from __future__ import annotations

import hashlib
import ipaddress
import os
import re
import secrets
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from email.utils import parseaddr
from urllib.parse import unquote, urlparse

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA_DIR = REPO_ROOT / "var"


class SettingsError(ValueError):
    """A FLOORSYNC_* variable holds a value the server cannot start with."""


@dataclass(frozen=True)
class Settings:
    database_url: str
    redis_url: str | None
    secret: str
    data_dir: Path
    login_rate_limit: tuple[str, int]
    # FLOORSYNC_DEVICE_RATE_LIMIT: pushes and pulls per device token ('600/minute' by default: a device syncing
    # every second with room for an initial sync's pages). Keeps one runaway device from starving the others.
    device_rate_limit: tuple[str, int]
    secure_cookies: bool
    log_level: str
    # FLOORSYNC_SCAN_GS_STANDIN: what a keyboard-wedge scanner types for FNC1/GS when it cannot send ASCII 29.
    scan_gs_standin: str | None = None
    # FLOORSYNC_GS1_COMPANY_PREFIX and FLOORSYNC_SSCC_EXTENSION_DIGIT: what this company's SSCCs (pallets, cartons)
    # are numbered under. The default prefix is GS1's documentation example: replace it with your own before printing.
    gs1_company_prefix: str = "0614141"
    sscc_extension_digit: int = 0
    # FLOORSYNC_PWA_DIR: the floor app's build that /app/ serves (pwa/dist, which `make run` builds, by default).
    pwa_dir: Path = REPO_ROOT / "pwa" / "dist"
    # FLOORSYNC_WEBHOOK_RETRY_BASE_SECONDS and FLOORSYNC_WEBHOOK_MAX_ATTEMPTS: a failed webhook delivery is tried
    # again after base × 1, 3, 12, 60… (server/webhooks/rules.py), and given up after this many attempts.
    webhook_retry_base_seconds: float = 10.0
    # FLOORSYNC_LATE_CHECK_SECONDS: how often each server process looks for late and at-risk order lines to announce
    # as `sales_order.late` webhooks (each line once per risk).
    late_check_seconds: float = 600.0
    webhook_max_attempts: int = 8
    # FLOORSYNC_LOGIN_FAILURES_PER_USER, FLOORSYNC_LOGIN_LOCKOUT_SECONDS, FLOORSYNC_LOGIN_LOCKOUT_MAX_SECONDS: a username
    # may fail this many logins; then it is locked for the first lockout, doubled with each further failure, up to
    # the longest (server/accounts/login_throttle.py). Whatever the client's address.
    login_failures_per_user: int = 5
    login_lockout_seconds: int = 30
    login_lockout_max_seconds: int = 900
    # FLOORSYNC_WS_HELLO_TIMEOUT_SECONDS, FLOORSYNC_WS_UNAUTHENTICATED_PER_ADDRESS: a live socket that has not said who
    # it is within the timeout is closed, and one address may hold only so many such sockets at once (per process).
    ws_hello_timeout_seconds: float = 10.0
    ws_unauthenticated_per_address: int = 50
    # FLOORSYNC_METRICS_TOKEN, FLOORSYNC_METRICS_ALLOW: /metrics answers the bearer of the token, from anywhere, and
    # without it only clients in the allowed networks (this machine by default).
    metrics_token: str | None = None
    metrics_networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = (
        ipaddress.ip_network("127.0.0.0/8"), ipaddress.ip_network("::1/128"))
    # FLOORSYNC_WEBHOOK_ALLOW: receivers on loopback, link-local, unspecified, multicast or reserved addresses that
    # webhooks may still reach (server/webhooks/targets.py): networks or addresses, and host names trusted wherever
    # they point. Empty by default: the factory LAN's private addresses need no entry.
    webhook_allow: tuple[str, ...] = ()
    # FLOORSYNC_PO_APPROVAL_BY_OTHER_ABOVE: the purchasing policy's default limit until an admin sets one
    # (server/purchasing/policy.py): a purchase order whose total is above it (in its own currency) must be approved
    # by someone other than its author. Read at start so that a bad value stops the server there.
    po_approval_by_other_above: Decimal = Decimal(10000)
    # FLOORSYNC_SMTP_URL: where purchase documents are e-mailed (smtp://, smtp+starttls:// or smtps://, with the
    # account as user:password@); unset, each message waits in the office outbox for the buyer to download and send.
    smtp: SmtpServer | None = None
    # FLOORSYNC_MAIL_FROM: the sender of those e-mails (an address, or `Name <address>`).
    mail_from: str = "purchasing@floorsync.invalid"

    @property
    def is_postgres(self) -> bool:
        return is_postgres_url(self.database_url)

    @property
    def sqlite_path(self) -> Path:
        if self.is_postgres:
            raise SettingsError("not a SQLite database")
        return sqlite_path_from_url(self.database_url)

    @property
    def database_label(self) -> str:
        """What /health and logs may show: the kind and place, never a password."""
        if self.is_postgres:
            parsed = urlparse(self.database_url)
            return f"postgresql://{parsed.hostname}:{parsed.port or 5432}{parsed.path}"
        return f"sqlite:///{self.sqlite_path}"

    @property
    def deployment_key(self) -> str:
        """Names this deployment's keys and channels in a Redis that several deployments (or test runs) may share:
        processes on the same database are one deployment."""
        return hashlib.sha256(self.database_url.encode()).hexdigest()[:12]

    @property
    def broker_label(self) -> str:
        if not self.redis_url:
            return "memory"
        parsed = urlparse(self.redis_url)
        return f"redis://{parsed.hostname}:{parsed.port or 6379}{parsed.path}"


@dataclass(frozen=True)
class SmtpServer:
    """An SMTP server as FLOORSYNC_SMTP_URL names it: `security` is `plain`, `starttls` (upgraded after EHLO) or
    `tls` (smtps://, TLS from the first byte); user and password are percent-decoded."""

    host: str
    port: int
    security: str
    username: str | None = None
    password: str | None = None

    @property
    def label(self) -> str:
        """What logs and pages may show: never the password."""
        return f"{self.host}:{self.port} ({self.security})"


SMTP_SCHEMES = {"smtp": ("plain", 25), "smtp+starttls": ("starttls", 587), "smtps": ("tls", 465)}


def smtp_from_env() -> SmtpServer | None:
    text = os.environ.get("FLOORSYNC_SMTP_URL", "").strip()
    if not text:
        return None
    parsed = urlparse(text)
    try:
        port = parsed.port
    except ValueError:
        port = -1
    if parsed.scheme not in SMTP_SCHEMES or not parsed.hostname or port == -1 or parsed.path not in ("", "/"):
        raise SettingsError("FLOORSYNC_SMTP_URL must be like smtp://user:password@host:25, smtp+starttls://host:587 "
                            "or smtps://host:465")
    security, default_port = SMTP_SCHEMES[parsed.scheme]
    return SmtpServer(host=parsed.hostname, port=port or default_port, security=security,
                      username=unquote(parsed.username) if parsed.username else None,
                      password=unquote(parsed.password) if parsed.password is not None else None)


def mail_from_env() -> str:
    value = os.environ.get("FLOORSYNC_MAIL_FROM", "purchasing@floorsync.invalid").strip()
    _, address = parseaddr(value)
    if not re.fullmatch(r"[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+", address) or any(c in value for c in "\r\n"):
        raise SettingsError("FLOORSYNC_MAIL_FROM must be an e-mail address, or a name and one: "
                            "Purchasing <purchasing@example.com>")
    return value


def is_postgres_url(url: str) -> bool:
    return url.startswith(("postgresql://", "postgres://"))


def sqlite_path_from_url(url: str) -> Path:
    path = url.removeprefix("sqlite:///") if url.startswith("sqlite:///") else url
    return Path(path).expanduser().resolve()


def parse_rate(text: str) -> tuple[str, int]:
    """'10/minute' -> ('minute', 10), the shape Litestar's RateLimitConfig takes."""
    match = re.fullmatch(r"\s*(\d+)\s*/\s*(second|minute|hour|day)\s*", text)
    if not match:
        raise SettingsError(f"rate limit {text!r} is not like '10/minute'")
    return match.group(2), int(match.group(1))


def gs1_company_prefix_from_env() -> str:
    value = os.environ.get("FLOORSYNC_GS1_COMPANY_PREFIX", "0614141")
    if not re.fullmatch(r"\d{6,12}", value):
        raise SettingsError("FLOORSYNC_GS1_COMPANY_PREFIX must be 6 to 12 digits (your GS1 company prefix)")
    return value


def sscc_extension_digit_from_env() -> int:
    value = os.environ.get("FLOORSYNC_SSCC_EXTENSION_DIGIT", "0")
    if not re.fullmatch(r"\d", value):
        raise SettingsError("FLOORSYNC_SSCC_EXTENSION_DIGIT must be one digit, 0 to 9")
    return int(value)


def _secret(data_dir: Path) -> str:
    """FLOORSYNC_SECRET, or (laptop default) a random one kept in the data dir so sessions survive restarts."""
    configured = os.environ.get("FLOORSYNC_SECRET")
    if configured:
        if len(configured) < 32:
            raise SettingsError("FLOORSYNC_SECRET must be at least 32 characters")
        return configured
    key_file = data_dir / "secret.key"
    if key_file.exists():
        return key_file.read_text().strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(48)
    key_file.write_text(value)
    key_file.chmod(0o600)
    return value


def scan_gs_standin_from_env() -> str | None:
    """A stand-in must not be a character GS1 data may hold (letters, digits, GS1's 82 punctuation marks)."""
    value = os.environ.get("FLOORSYNC_SCAN_GS_STANDIN") or None
    if value is not None and (len(value) > 8 or re.search(r"[A-Za-z0-9!\"%&'()*+,\-./:;<=>?_\s]", value)):
        raise SettingsError("FLOORSYNC_SCAN_GS_STANDIN must be up to 8 characters GS1 data never holds, like ~ or ^]")
    return value


def data_dir_from_env() -> Path:
    return Path(os.environ.get("FLOORSYNC_DATA_DIR", DEFAULT_DATA_DIR)).resolve()


def database_url_from_env() -> str:
    return os.environ.get("FLOORSYNC_DATABASE_URL") or f"sqlite:///{data_dir_from_env() / 'floorsync.db'}"


def db_lock_timeout_ms_from_env() -> int:
    """FLOORSYNC_DB_LOCK_TIMEOUT_MS: how long a PostgreSQL statement waits for a lock before it fails as a transient
    fault (a push retries, then answers 503): 5000 by default, 100 to 600000."""
    text = os.environ.get("FLOORSYNC_DB_LOCK_TIMEOUT_MS", "5000")
    if not text.isdigit() or not 100 <= int(text) <= 600_000:
        raise SettingsError("FLOORSYNC_DB_LOCK_TIMEOUT_MS must be a whole number of milliseconds from 100 to 600000")
    return int(text)


def db_pool_size_from_env() -> int:
    """FLOORSYNC_DB_POOL_SIZE: PostgreSQL connections per server process (20 by default: 50 devices pushing at
    once keep that many transactions busy; mind max_connections when running several processes)."""
    text = os.environ.get("FLOORSYNC_DB_POOL_SIZE", "20")
    if not text.isdigit() or not 1 <= int(text) <= 500:
        raise SettingsError("FLOORSYNC_DB_POOL_SIZE must be a whole number from 1 to 500")
    return int(text)


def seconds_from_env(name: str, default: str, low: float, high: float) -> float:
    text = os.environ.get(name, default)
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not low <= value <= high:
        raise SettingsError(f"{name} must be a number of seconds from {low:g} to {high:g}")
    return value


def late_check_seconds_from_env() -> float:
    return seconds_from_env("FLOORSYNC_LATE_CHECK_SECONDS", "600", 0.1, 86400)


def webhook_retry_base_seconds_from_env() -> float:
    return seconds_from_env("FLOORSYNC_WEBHOOK_RETRY_BASE_SECONDS", "10", 0.01, 3600)


def webhook_max_attempts_from_env() -> int:
    text = os.environ.get("FLOORSYNC_WEBHOOK_MAX_ATTEMPTS", "8")
    if not text.isdigit() or not 1 <= int(text) <= 50:
        raise SettingsError("FLOORSYNC_WEBHOOK_MAX_ATTEMPTS must be a whole number from 1 to 50")
    return int(text)


def whole_number_from_env(name: str, default: int, low: int, high: int) -> int:
    text = os.environ.get(name, str(default)).strip()
    if not text.isdigit() or not low <= int(text) <= high:
        raise SettingsError(f"{name} must be a whole number from {low} to {high}")
    return int(text)


def metrics_token_from_env() -> str | None:
    value = os.environ.get("FLOORSYNC_METRICS_TOKEN") or None
    if value is not None and len(value) < 16:
        raise SettingsError("FLOORSYNC_METRICS_TOKEN must be at least 16 characters")
    return value


def metrics_networks_from_env() -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    text = os.environ.get("FLOORSYNC_METRICS_ALLOW", "127.0.0.0/8,::1")
    try:
        return tuple(ipaddress.ip_network(part.strip(), strict=False) for part in text.split(",") if part.strip())
    except ValueError as exc:
        raise SettingsError(f"FLOORSYNC_METRICS_ALLOW must be addresses or networks separated by commas ({exc})") from exc


def webhook_allow_from_env() -> tuple[str, ...]:
    """The allow-list's entries, each an address, a network (CIDR) or a host name, checked here so that a typo stops
    the server at start instead of refusing receivers later."""
    entries = []
    for raw in os.environ.get("FLOORSYNC_WEBHOOK_ALLOW", "").split(","):
        entry = raw.strip().lower().rstrip(".")
        if not entry:
            continue
        try:
            ipaddress.ip_network(entry.strip("[]"), strict=False)
        except ValueError:
            if not re.fullmatch(r"[a-z0-9_]([a-z0-9_-]{0,62})(\.[a-z0-9_]([a-z0-9_-]{0,62}))*", entry):
                raise SettingsError(f"FLOORSYNC_WEBHOOK_ALLOW: {raw.strip()!r} is no address, network (like "
                                    "192.168.1.0/24) or host name") from None
        entries.append(entry.strip("[]"))
    return tuple(entries)


def po_approval_by_other_above_from_env() -> Decimal:
    text = os.environ.get("FLOORSYNC_PO_APPROVAL_BY_OTHER_ABOVE", "10000").strip()
    if not re.fullmatch(r"\d{1,15}(\.\d{1,4})?", text):
        raise SettingsError("FLOORSYNC_PO_APPROVAL_BY_OTHER_ABOVE must be an amount like 10000 or 2500.50 (0: every "
                            "purchase order is approved by someone other than its author)")
    return Decimal(text)


def load_settings() -> Settings:
    """All settings; resolving the secret may create the laptop's key file, so call this when serving, not on import."""
    data_dir = data_dir_from_env()
    database_url = database_url_from_env()
    if not (database_url.startswith(("postgresql://", "postgres://", "sqlite:///")) or "://" not in database_url):
        raise SettingsError("FLOORSYNC_DATABASE_URL must be a SQLite path, sqlite:///PATH or postgresql://…")
    return Settings(
        database_url=database_url,
        redis_url=os.environ.get("FLOORSYNC_REDIS_URL") or None,
        secret=_secret(data_dir),
        data_dir=data_dir,
        login_rate_limit=parse_rate(os.environ.get("FLOORSYNC_LOGIN_RATE_LIMIT", "10/minute")),
        device_rate_limit=parse_rate(os.environ.get("FLOORSYNC_DEVICE_RATE_LIMIT", "600/minute")),
        secure_cookies=os.environ.get("FLOORSYNC_SECURE_COOKIES", "0").lower() in ("1", "true", "yes"),
        log_level=os.environ.get("FLOORSYNC_LOG_LEVEL", "INFO").upper(),
        scan_gs_standin=scan_gs_standin_from_env(),
        gs1_company_prefix=gs1_company_prefix_from_env(),
        sscc_extension_digit=sscc_extension_digit_from_env(),
        pwa_dir=Path(os.environ.get("FLOORSYNC_PWA_DIR") or REPO_ROOT / "pwa" / "dist").resolve(),
        webhook_retry_base_seconds=webhook_retry_base_seconds_from_env(),
        late_check_seconds=late_check_seconds_from_env(),
        webhook_max_attempts=webhook_max_attempts_from_env(),
        login_failures_per_user=whole_number_from_env("FLOORSYNC_LOGIN_FAILURES_PER_USER", 5, 1, 1000),
        login_lockout_seconds=whole_number_from_env("FLOORSYNC_LOGIN_LOCKOUT_SECONDS", 30, 1, 86400),
        login_lockout_max_seconds=whole_number_from_env("FLOORSYNC_LOGIN_LOCKOUT_MAX_SECONDS", 900, 1, 7 * 86400),
        ws_hello_timeout_seconds=seconds_from_env("FLOORSYNC_WS_HELLO_TIMEOUT_SECONDS", "10", 0.1, 600),
        ws_unauthenticated_per_address=whole_number_from_env("FLOORSYNC_WS_UNAUTHENTICATED_PER_ADDRESS", 50, 1, 100_000),
        metrics_token=metrics_token_from_env(),
        metrics_networks=metrics_networks_from_env(),
        webhook_allow=webhook_allow_from_env(),
        po_approval_by_other_above=po_approval_by_other_above_from_env(),
        smtp=smtp_from_env(),
        mail_from=mail_from_env(),
    )

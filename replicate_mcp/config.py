"""Settings: environment first, command-line flags on top, validated once at start."""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

DEFAULT_BASE_URL = "https://api.replicate.com/v1"
SANDBOX_TOKEN = "r8_sandbox_local_token"
TOOLSETS = ("core", "training", "deployments", "account")
DOCS_URL = "https://replicate.com"
_SLUG = r"[a-z0-9][a-z0-9._-]*"
# owner/name, owner/*, or a deployment: deployments/owner/name, deployments/owner/*, deployments/*
MODEL_PATTERN = re.compile(
    rf"^((?!deployments/){_SLUG}/(\*|{_SLUG})|deployments/(\*|{_SLUG}/(\*|{_SLUG})))$", re.IGNORECASE
)


DURATION = re.compile(r"^(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m)?(?:(\d+(?:\.\d+)?)s?)?$")


class ConfigError(ValueError):
    """A bad setting; the message names the flag or variable and the fix."""


def parse_duration(text: str) -> float:
    """Seconds in '90', '30s', '5m', '1h30m' (Replicate's Cancel-After forms); ValueError otherwise."""
    match = DURATION.match(text.strip().lower())
    if not text.strip() or match is None or not any(match.groups()):
        raise ValueError(f"'{text}' is not a duration; use seconds or a form like 30s, 5m, 1h30m")
    hours, minutes, seconds = (float(g) if g else 0.0 for g in match.groups())
    return hours * 3600 + minutes * 60 + seconds


class Settings(BaseModel):
    model_config = ConfigDict(frozen=True)

    token: SecretStr | None = None
    base_url: str = DEFAULT_BASE_URL
    sandbox: bool = False
    sandbox_time_scale: float = Field(0.1, gt=0)
    transport: Literal["stdio", "http"] = "stdio"
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    http_token: SecretStr | None = None
    auth: Literal["none", "replicate-token", "oauth"] = "none"
    auth_cache_ttl: float = Field(300.0, ge=0, le=86_400)
    oauth_issuer: str | None = None
    oauth_audience: str | None = None
    oauth_jwks_url: str | None = None
    oauth_scopes: tuple[str, ...] = ()
    allowed_hosts: tuple[str, ...] = ()
    allowed_origins: tuple[str, ...] = ()
    allow_unauthenticated: bool = False
    read_only: bool = False
    allow_models: tuple[str, ...] = ()
    wait_seconds: float = Field(45.0, ge=1)
    max_wait: float = Field(50.0, ge=1, le=3600)
    allow_dirs: tuple[Path, ...] = ()
    data_dir: Path | None = None
    output_dir: Path | None = None
    archive: bool = True
    inline_images: bool = True
    max_response_chars: int = Field(20_000, ge=2_000)
    cancel_after: float = Field(900.0, ge=5)
    max_cancel_after: float = Field(3600.0, ge=5)
    public_url: str | None = None
    poll_rate: float = Field(
        30.0, gt=0, le=100
    )  # Replicate gives polls of one prediction a far larger bucket
    poll_interval: float | None = Field(None, ge=0.01)
    state: str | None = None  # None: SQLite in the data folder; redis://… to share with other replicas
    archive_to: str | None = None  # None: the output folder; s3://bucket/prefix for an object store
    state_key: SecretStr | None = None
    lease_seconds: float = Field(15.0, ge=0.5, le=600)
    max_runs_per_tenant: int | None = Field(None, ge=1)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "WARNING"
    toolsets: tuple[str, ...] = ("core",)
    max_cost_per_run: float | None = Field(None, gt=0)
    budget: float | None = Field(None, gt=0)
    confirm_above: float | None = Field(None, ge=0)
    docs_url: str | None = None

    @field_validator("toolsets")
    @classmethod
    def _check_toolsets(cls, names: tuple[str, ...]) -> tuple[str, ...]:
        chosen: list[str] = []
        for name in (n.strip().lower() for n in names):
            if name == "all":
                chosen += TOOLSETS
            elif name in TOOLSETS:
                chosen.append(name)
            else:
                raise ValueError(f"'{name}' is not a toolset; choose from {', '.join(TOOLSETS)}, all")
        return tuple(dict.fromkeys(chosen)) or ("core",)

    @field_validator("docs_url")
    @classmethod
    def _check_docs_url(cls, url: str | None) -> str | None:
        if url is None or not url.strip():
            return None
        url = url.strip().rstrip("/")
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"'{url}' is not an http(s) URL")
        return url

    @property
    def docs_base(self) -> str:
        """Where Replicate's Markdown docs live:
        the setting, else the API's own host for a sandbox or a local API."""
        if self.docs_url:
            return self.docs_url
        if self.base_url != DEFAULT_BASE_URL:
            return self.base_url.removesuffix("/v1")
        return DOCS_URL

    @field_validator("allow_models")
    @classmethod
    def _check_patterns(cls, patterns: tuple[str, ...]) -> tuple[str, ...]:
        for pattern in patterns:
            if not MODEL_PATTERN.match(pattern):
                raise ValueError(
                    f"'{pattern}' is not owner/name or owner/* (a deployment: deployments/owner/name, "
                    "deployments/owner/* or deployments/*)"
                )
        return patterns

    @field_validator("cancel_after", "max_cancel_after", mode="before")
    @classmethod
    def _duration(cls, value: object) -> object:
        return parse_duration(value) if isinstance(value, str) else value

    @field_validator("state")
    @classmethod
    def _check_state(cls, url: str | None) -> str | None:
        if url is None or not url.strip():
            return None
        if not url.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError(
                f"'{url}' is not a redis:// (or rediss://) URL; leave it out for the embedded SQLite ledger"
            )
        return url.strip()

    @field_validator("archive_to")
    @classmethod
    def _check_archive_to(cls, url: str | None) -> str | None:
        if url is None or not url.strip():
            return None
        if not url.startswith("s3://") or len(url) <= len("s3://"):
            raise ValueError(
                f"'{url}' is not s3://bucket/prefix; leave it out to keep files in the output folder"
            )
        return url.strip().rstrip("/")

    @field_validator("public_url")
    @classmethod
    def _check_public_url(cls, url: str | None) -> str | None:
        if url is None or not url.strip():
            return None
        url = url.strip().rstrip("/")
        if not url.startswith(("http://", "https://")):
            raise ValueError(
                f"'{url}' is not an http(s) URL; give the address clients and Replicate reach this server at"
            )
        return url

    @property
    def webhook_url(self) -> str | None:
        """Where Replicate's webhooks reach this server: only over HTTP, with a public address."""
        return (
            f"{self.public_url}/webhooks/replicate" if self.public_url and self.transport == "http" else None
        )  # app.WEBHOOK_PATH

    @property
    def min_poll_interval(self) -> float:
        """Seconds between two polls of one prediction: 2 on Replicate;
        the embedded sandbox's clock scales it."""
        if self.poll_interval is not None:
            return self.poll_interval
        return 2.0 * min(1.0, self.sandbox_time_scale) if self.sandbox else 2.0

    @property
    def default_lifetime(self) -> float:
        """The Cancel-After of a create whose call asked for none."""
        return min(self.cancel_after, self.max_cancel_after)

    @field_validator("base_url")
    @classmethod
    def _normalize_base_url(cls, url: str) -> str:
        url = url.strip().rstrip("/")
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"'{url}' is not an http(s) URL")
        return url if url.endswith("/v1") else url + "/v1"

    @property
    def loopback_host(self) -> bool:
        """Whether --host binds only this machine (a loopback address or localhost)."""
        host = self.host.strip("[]").lower()
        try:
            return ipaddress.ip_address(host).is_loopback
        except ValueError:
            return host == "localhost"

    def exposure_problem(self) -> str | None:
        """Why serving HTTP with these settings is refused, or None:
        no token on an address others can reach."""
        if self.transport != "http" or self.loopback_host or self.protected or self.allow_unauthenticated:
            return None
        return (
            f"--host {self.host} serves the MCP endpoint to other machines, and no token protects it: "
            "anyone who can reach it could run paid models on your account. "
            "Set REPLICATE_MCP_HTTP_TOKEN to a long random secret (clients then send Authorization: "
            "Bearer <token>), or use --auth replicate-token or --auth oauth "
            "(each user signs in), or bind --host 127.0.0.1; "
            "--allow-unauthenticated (REPLICATE_MCP_ALLOW_UNAUTHENTICATED=1) serves without a token anyway"
        )

    @property
    def protected(self) -> bool:
        """Whether every MCP request must carry a credential: the shared HTTP token or an --auth mode."""
        return self.http_token is not None or self.auth != "none"

    @property
    def resource_url(self) -> str:
        """The MCP endpoint as clients reach it: the OAuth resource identifier and the server card's URL."""
        if self.public_url:
            return f"{self.public_url}/mcp"
        host = f"[{self.host.strip('[]')}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/mcp"

    def auth_problem(self) -> str | None:
        """Why this --auth mode cannot serve with these settings, or None."""
        if self.auth == "none":
            return None
        if self.transport != "http":
            return (
                f"--auth {self.auth} / REPLICATE_MCP_AUTH protects an HTTP endpoint shared by several "
                "people; over stdio the client that starts the server is its only user. "
                "Add --transport http, or drop --auth and set REPLICATE_API_TOKEN"
            )
        if self.http_token is not None:
            return (
                f"REPLICATE_MCP_HTTP_TOKEN and --auth {self.auth} both decide who may call; use one. "
                "With --auth each caller brings its own credential: unset REPLICATE_MCP_HTTP_TOKEN"
            )
        if self.auth == "oauth":
            missing = [
                flag
                for flag, value in (
                    ("--oauth-issuer / REPLICATE_MCP_OAUTH_ISSUER", self.oauth_issuer),
                    ("--oauth-audience / REPLICATE_MCP_OAUTH_AUDIENCE", self.oauth_audience),
                )
                if not value
            ]
            if missing:
                return (
                    "--auth oauth needs "
                    + " and ".join(missing)
                    + ": the identity provider's issuer URL and the "
                    "audience its access tokens carry for this server "
                    "(--public-url makes the audience default to PUBLIC_URL/mcp)"
                )
            if self.token is None and not self.sandbox:
                return (
                    "--auth oauth runs every user's models with the team's Replicate account: set "
                    "REPLICATE_API_TOKEN (or use --auth replicate-token, where each user sends their own)"
                )
        return None

    @field_validator("oauth_issuer", "oauth_jwks_url")
    @classmethod
    def _check_oauth_url(cls, url: str | None) -> str | None:
        if url is None or not url.strip():
            return None
        url = url.strip()
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"'{url}' is not an http(s) URL")
        return url

    @property
    def effective_wait(self) -> float:
        return min(self.wait_seconds, self.max_wait)

    def model_allowed(self, ref: str) -> bool:
        """`ref` is owner/name; an empty allow-list allows everything."""
        if not self.allow_models:
            return True
        owner = ref.split("/", 1)[0].lower()
        return any(p.lower() == ref.lower() or p.lower() == f"{owner}/*" for p in self.allow_models)


# setting name -> (environment variable, flag shown in messages)
ENVIRONMENT = {
    "token": ("REPLICATE_API_TOKEN", None),
    "base_url": ("REPLICATE_BASE_URL", "--base-url"),
    "sandbox": ("REPLICATE_MCP_SANDBOX", "--sandbox"),
    "sandbox_time_scale": ("REPLICATE_MCP_SANDBOX_TIME_SCALE", "--sandbox-time-scale"),
    "transport": ("REPLICATE_MCP_TRANSPORT", "--transport"),
    "host": ("REPLICATE_MCP_HOST", "--host"),
    "port": ("REPLICATE_MCP_PORT", "--port"),
    "http_token": ("REPLICATE_MCP_HTTP_TOKEN", None),
    "auth": ("REPLICATE_MCP_AUTH", "--auth"),
    "auth_cache_ttl": ("REPLICATE_MCP_AUTH_CACHE_TTL", "--auth-cache-ttl"),
    "oauth_issuer": ("REPLICATE_MCP_OAUTH_ISSUER", "--oauth-issuer"),
    "oauth_audience": ("REPLICATE_MCP_OAUTH_AUDIENCE", "--oauth-audience"),
    "oauth_jwks_url": ("REPLICATE_MCP_OAUTH_JWKS_URL", "--oauth-jwks-url"),
    "oauth_scopes": ("REPLICATE_MCP_OAUTH_SCOPES", "--oauth-scopes"),
    "allowed_hosts": ("REPLICATE_MCP_ALLOWED_HOSTS", "--allowed-hosts"),
    "allowed_origins": ("REPLICATE_MCP_ALLOWED_ORIGINS", "--allowed-origins"),
    "allow_unauthenticated": ("REPLICATE_MCP_ALLOW_UNAUTHENTICATED", "--allow-unauthenticated"),
    "read_only": ("REPLICATE_MCP_READ_ONLY", "--read-only"),
    "allow_models": ("REPLICATE_MCP_ALLOW_MODELS", "--allow-models"),
    "wait_seconds": ("REPLICATE_MCP_WAIT_SECONDS", "--wait-seconds"),
    "max_wait": ("REPLICATE_MCP_MAX_WAIT", "--max-wait"),
    "allow_dirs": ("REPLICATE_MCP_ALLOW_DIRS", "--allow-dir"),
    "data_dir": ("REPLICATE_MCP_DATA_DIR", "--data-dir"),
    "output_dir": ("REPLICATE_MCP_OUTPUT_DIR", "--output-dir"),
    "archive": ("REPLICATE_MCP_ARCHIVE", "--no-archive"),
    "inline_images": ("REPLICATE_MCP_INLINE_IMAGES", "--no-inline-images"),
    "max_response_chars": ("REPLICATE_MCP_MAX_RESPONSE_CHARS", "--max-response-chars"),
    "cancel_after": ("REPLICATE_MCP_CANCEL_AFTER", "--cancel-after"),
    "max_cancel_after": ("REPLICATE_MCP_MAX_CANCEL_AFTER", "--max-cancel-after"),
    "public_url": ("REPLICATE_MCP_PUBLIC_URL", "--public-url"),
    "poll_rate": ("REPLICATE_MCP_POLL_RATE", "--poll-rate"),
    "poll_interval": ("REPLICATE_MCP_POLL_INTERVAL", "--poll-interval"),
    "state": ("REPLICATE_MCP_STATE", "--state"),
    "archive_to": ("REPLICATE_MCP_ARCHIVE_TO", "--archive-to"),
    "state_key": ("REPLICATE_MCP_STATE_KEY", None),
    "lease_seconds": ("REPLICATE_MCP_LEASE_SECONDS", "--lease-seconds"),
    "max_runs_per_tenant": ("REPLICATE_MCP_MAX_RUNS_PER_TENANT", "--max-runs-per-tenant"),
    "log_level": ("REPLICATE_MCP_LOG_LEVEL", "--log-level"),
    "toolsets": ("REPLICATE_MCP_TOOLSETS", "--toolsets"),
    "max_cost_per_run": ("REPLICATE_MCP_MAX_COST_PER_RUN", "--max-cost-per-run"),
    "budget": ("REPLICATE_MCP_BUDGET", "--budget"),
    "confirm_above": ("REPLICATE_MCP_CONFIRM_ABOVE", "--confirm-above"),
    "docs_url": ("REPLICATE_MCP_DOCS_URL", "--docs-url"),
}
BOOLEAN_WORDS = {
    "1": True,
    "true": True,
    "yes": True,
    "on": True,
    "0": False,
    "false": False,
    "no": False,
    "off": False,
}


def _from_environment(env: Mapping[str, str]) -> dict[str, Any]:
    """Each setting's value as found in `env`, for `Settings` to validate."""
    values: dict[str, Any] = {}
    for name, (variable, _) in ENVIRONMENT.items():
        raw = env.get(variable, "").strip()
        if not raw:
            continue
        if Settings.model_fields[name].annotation is bool:
            if raw.lower() not in BOOLEAN_WORDS:
                raise ConfigError(
                    f"{variable}={raw!r} is not a boolean; use 1/0, true/false, yes/no or on/off"
                )
            values[name] = BOOLEAN_WORDS[raw.lower()]
        elif name in ("allow_models", "allowed_hosts", "allowed_origins", "oauth_scopes", "toolsets"):
            values[name] = tuple(p.strip() for p in raw.split(",") if p.strip())
        elif name == "allow_dirs":
            values[name] = tuple(Path(p) for p in raw.split(os.pathsep) if p.strip())
        elif name == "log_level":
            values[name] = raw.upper()
        else:
            values[name] = raw
    return values


def load_settings(
    overrides: Mapping[str, Any] | None = None, env: Mapping[str, str] | None = None
) -> Settings:
    """Build settings from `env` (default: os.environ) with `overrides` (from flags) on top."""
    values = _from_environment(os.environ if env is None else env)
    for name, value in (overrides or {}).items():
        if value is None or value == ():
            continue
        if name == "allow_dirs":
            value = tuple(values.get("allow_dirs", ())) + tuple(value)  # flags add to the environment's list
        values[name] = value
    try:
        settings = Settings.model_validate(values)
    except Exception as exc:  # pydantic.ValidationError, reworded per setting
        raise ConfigError(_explain(exc)) from None
    if (
        settings.poll_interval is not None
        and settings.poll_interval < 2
        and not settings.sandbox
        and settings.base_url == DEFAULT_BASE_URL
    ):
        raise ConfigError(
            "--poll-interval / REPLICATE_MCP_POLL_INTERVAL below 2 seconds is only for a local sandbox; "
            "Replicate's API is polled at most every 2 s per prediction"
        )
    if settings.auth == "oauth" and not settings.oauth_audience and settings.public_url:
        settings = settings.model_copy(update={"oauth_audience": settings.resource_url})
    problem = settings.auth_problem() or settings.exposure_problem()
    if problem:
        raise ConfigError(problem)
    if settings.wait_seconds > settings.max_wait:
        settings = settings.model_copy(update={"wait_seconds": settings.max_wait})
    return settings


def _explain(exc: Exception) -> str:
    errors = getattr(exc, "errors", None)
    if not callable(errors):
        return str(exc)
    lines = []
    for error in errors():
        name = str(error["loc"][0]) if error["loc"] else "settings"
        variable, flag = ENVIRONMENT.get(name, (name, None))
        where = f"{flag} / {variable}" if flag else variable
        lines.append(f"bad setting {where}: {error['msg']} (got {error.get('input')!r})")
    return "\n".join(lines)

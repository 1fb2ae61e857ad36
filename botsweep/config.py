"""Settings: config.yaml plus ``BOTSWEEP_*`` environment overrides.

``load_settings(path)`` reads the YAML file (``--config``, else ``$BOTSWEEP_CONFIG``,
else ``./config.yaml`` when present, else the defaults), applies environment overrides
such as ``BOTSWEEP_DATABASE__URL`` (nested keys joined by ``__``) and validates the
result.  Unknown keys and bad values raise :class:`~botsweep.errors.ConfigError` with one
line naming the key, the bad value and what is expected.

Secrets never live in the file: ``api.bearer_token_env`` names the environment
variables that hold the tokens, and a literal token is refused.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from botsweep.errors import ConfigError

__all__ = [
    "Settings",
    "DatabaseSettings",
    "ApiSettings",
    "CrawlerSettings",
    "ScorerSettings",
    "ReportSettings",
    "ScheduleSettings",
    "load_settings",
    "resolve_tokens",
]

_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
_SECRET_KEYS = {"bearer_token", "token", "tokens", "api_key", "api_secret", "access_token",
                "access_token_secret", "consumer_key", "consumer_secret", "password", "secret"}


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class DatabaseSettings(_Section):
    url: str = "sqlite:///botsweep.db"
    busy_timeout_s: float = Field(30.0, gt=0, le=3600)
    echo: bool = False


class ApiSettings(_Section):
    base_url: str = "https://api.twitter.com"
    bearer_token_env: list[str] = Field(default_factory=lambda: ["X_BEARER_TOKEN"])
    timeout_s: float = Field(5.0, gt=0, le=120)
    max_retries: int = Field(5, ge=0, le=50)
    backoff_base_s: float = Field(1.0, ge=0, le=600)
    backoff_max_s: float = Field(60.0, ge=0, le=3600)

    @field_validator("bearer_token_env", mode="before")
    @classmethod
    def _names_not_tokens(cls, value: Any) -> Any:
        items = [value] if isinstance(value, str) else value
        if isinstance(items, list):
            for item in items:
                if isinstance(item, str) and not _ENV_NAME.match(item):
                    raise ValueError(
                        "this looks like a literal token, not an environment variable name; "
                        "put the token in an environment variable (export X_BEARER_TOKEN=...) "
                        "and list that variable's name here"
                    )
        return items

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not re.match(r"^https?://[^\s/]+", value):
            raise ValueError("expected an http(s) URL such as https://api.twitter.com")
        return value.rstrip("/")


class CrawlerSettings(_Section):
    policy: Literal["smart", "bfs"] = "smart"
    target: Literal["bot", "campaign"] = "bot"
    campaign: str | None = None
    page_size: int = Field(1000, ge=1, le=1000)
    max_list_size: int = Field(50_000, ge=1)
    lookup_batch: int = Field(100, ge=1, le=100)
    bot_threshold: float | None = Field(None, ge=0, le=1)
    skip_human_lists_over: int = Field(5_000, ge=0)
    max_attempts: int = Field(5, ge=1, le=100)
    lease_s: float = Field(300.0, gt=0)
    worker_id: str | None = None


class ScorerSettings(_Section):
    model: Path | None = None


class ReportSettings(_Section):
    out: Path = Path("botsweep-report.html")
    min_score: float = Field(0.0, ge=0, le=1)
    max_nodes: int = Field(30_000, ge=1)


class ScheduleSettings(_Section):
    crawl_every_s: float = Field(60.0, gt=0)
    crawl_max_requests: int = Field(50, ge=1)
    crawl_max_seconds: float = Field(50.0, gt=0)
    score_every_s: float = Field(600.0, gt=0)
    report_cron: str = "0 * * * *"
    misfire_grace_s: float = Field(120.0, gt=0)
    stale_after_s: float = Field(900.0, gt=0)


class Settings(BaseSettings):
    """Every option botsweep has; config.yaml at the repo root documents each one."""

    model_config = SettingsConfigDict(
        env_prefix="BOTSWEEP_", env_nested_delimiter="__", extra="forbid",
        validate_assignment=True,
    )

    database: DatabaseSettings = Field(default_factory=DatabaseSettings)
    api: ApiSettings = Field(default_factory=ApiSettings)
    crawler: CrawlerSettings = Field(default_factory=CrawlerSettings)
    scorer: ScorerSettings = Field(default_factory=ScorerSettings)
    report: ReportSettings = Field(default_factory=ReportSettings)
    schedule: ScheduleSettings = Field(default_factory=ScheduleSettings)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Environment beats the file; the file arrives as init kwargs.
        return (env_settings, init_settings)


def _default_path() -> Path | None:
    env = os.environ.get("BOTSWEEP_CONFIG")
    if env:
        return Path(env)
    local = Path("config.yaml")
    return local if local.is_file() else None


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read config file: {exc}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise ConfigError(f"{path}:{where}: not valid YAML: {problem}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(
            f"{path}: expected a mapping of sections at the top, got {type(data).__name__}"
        )
    _refuse_literal_secrets(path, data)
    return data


def _refuse_literal_secrets(path: Path, data: dict[str, Any], prefix: str = "") -> None:
    for key, value in data.items():
        name = f"{prefix}{key}"
        if str(key).lower() in _SECRET_KEYS and value not in (None, ""):
            raise ConfigError(
                f"{path}: {name}: secrets are never read from the config file; export the "
                "token in an environment variable and name that variable in "
                "api.bearer_token_env (for example [X_BEARER_TOKEN])"
            )
        if isinstance(value, dict):
            _refuse_literal_secrets(path, value, f"{name}.")


def _format_error(source: str, exc: ValidationError) -> str:
    first = exc.errors()[0]
    key = ".".join(str(part) for part in first["loc"])
    value = first.get("input")
    if first["type"] == "extra_forbidden":
        return f"{source}: unknown key {key!r}; see config.yaml for the keys that exist"
    shown = repr(value) if not isinstance(value, dict) else "a mapping"
    message = first["msg"].removeprefix("Value error, ")
    more = f" (and {len(exc.errors()) - 1} more)" if len(exc.errors()) > 1 else ""
    return f"{source}: {key} = {shown}: {message}{more}"


def load_settings(path: Path | str | None = None, **overrides: Any) -> Settings:
    """Load, merge and validate settings; raise ConfigError with one clear line."""
    chosen = Path(path) if path is not None else _default_path()
    data: dict[str, Any] = _read_yaml(chosen) if chosen is not None else {}
    for key, value in overrides.items():
        data[key] = value
    source = str(chosen) if chosen is not None else "config"
    try:
        return Settings(**data)
    except ValidationError as exc:
        raise ConfigError(_format_error(source, exc)) from None


def resolve_tokens(api: ApiSettings, environ: dict[str, str] | None = None) -> dict[str, str]:
    """Map each named env var to its token; raise ConfigError when none is set.

    The keys (env var names) are what ledgers and logs may show; the values never are.
    """
    from botsweep.logs import register_secret

    env = os.environ if environ is None else environ
    tokens = {name: env[name] for name in api.bearer_token_env if env.get(name)}
    if not tokens:
        names = ", ".join(api.bearer_token_env) or "(none named)"
        raise ConfigError(
            f"no API token: set one of {names} in the environment, or name your own "
            "variable in api.bearer_token_env; `botsweep demo` needs no token"
        )
    for value in tokens.values():
        register_secret(value)
    return tokens

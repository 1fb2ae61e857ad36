"""Settings: config.yaml plus ``BOTSWEEP_*`` environment overrides.

``load_settings(path)`` reads the YAML file (``--config``, else ``$BOTSWEEP_CONFIG``,
else ``./config.yaml`` when present, else the defaults), applies environment overrides
such as ``BOTSWEEP_DATABASE__URL`` (``BOTSWEEP_<SECTION>__<KEY>``) and validates the
result.  Unknown keys and bad values, in the file or in a ``BOTSWEEP_<SECTION>__<KEY>``
variable, raise :class:`~botsweep.errors.ConfigError` with one line naming where the key
came from, the key, the bad value and what is expected.  A list from the environment is
JSON (``["A","B"]``) or comma-separated (``A,B``); ``null`` (or empty) clears an optional
key.  ``BOTSWEEP_CONFIG`` is not a key, and a ``BOTSWEEP_`` variable without ``__`` that
names no section (``BOTSWEEP_DEMO_TOKEN``) is left alone.  A relative path written in the
file (a SQLite ``database.url``, ``report.out``, ``scorer.model``) is relative to the
file's folder, as are the default database and report files when the file leaves them
out; a path from the environment is relative to the current directory.

Secrets never live in the file: ``api.bearer_token_env`` names the environment
variables that hold the tokens, and a literal token is refused.
"""

from __future__ import annotations

import difflib
import json
import os
import re
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from botsweep.config_paths import home_sqlite_url, is_loopback_url, read_home, rebase_file_paths
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
]

_YEAR = 366 * 86_400  # the longest schedule interval or grace a config may set
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
_ENV_PREFIX = "BOTSWEEP_"
_NOT_KEYS = frozenset({"BOTSWEEP_CONFIG"})
_HIDDEN = {("api", "bearer_token_env")}
_SECRET_KEYS = {"bearer_token", "token", "tokens", "api_key", "api_secret", "access_token",
                "access_token_secret", "consumer_key", "consumer_secret", "password", "secret"}


class _Section(BaseModel):
    # allow_inf_nan: a duration of .inf passed 'gt=0', then crashed the scheduler
    model_config = ConfigDict(extra="forbid", validate_assignment=True, allow_inf_nan=False)


class DatabaseSettings(_Section):
    url: str = "sqlite:///botsweep.db"
    busy_timeout_s: float = Field(30.0, gt=0, le=3600)
    echo: bool = False

    @field_validator("url")
    @classmethod
    def _sqlite_home(cls, value: str) -> str:
        """``sqlite:///~/crawl.db``: the file in the home folder (SQLite would look for a
        folder named ``~``)."""
        return home_sqlite_url(value)


class ApiSettings(_Section):
    base_url: str = "https://api.twitter.com"
    bearer_token_env: list[str] = Field(default_factory=lambda: ["X_BEARER_TOKEN"])
    timeout_s: float = Field(5.0, gt=0, le=120)
    max_retries: int = Field(5, ge=0, le=50)
    backoff_base_s: float = Field(1.0, ge=0, le=600)
    backoff_max_s: float = Field(60.0, ge=0, le=3600)
    max_unreachable: int = Field(5, ge=1, le=1000)

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
        if value.startswith("http://") and not is_loopback_url(value):
            raise ValueError("plain http would send the bearer token unencrypted; use https, "
                             "or http only to a loopback address such as the sim's "
                             "(127.0.0.1, ::1, localhost)")
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
    lease_s: float = Field(300.0, gt=0, le=86_400)
    worker_id: str | None = None


class ScorerSettings(_Section):
    model: Path | None = None

    @field_validator("model", mode="before")
    @classmethod
    def _model_home(cls, value: Any) -> Any:
        return read_home(value) if isinstance(value, str) else value


class ReportSettings(_Section):
    out: Path = Path("botsweep-report.html")
    min_score: float = Field(0.0, ge=0, le=1)
    max_nodes: int = Field(30_000, ge=1)

    @field_validator("out", mode="before")
    @classmethod
    def _out_home(cls, value: Any) -> Any:
        return read_home(value) if isinstance(value, str) else value


class ScheduleSettings(_Section):
    crawl_every_s: float = Field(60.0, gt=0, le=_YEAR)
    crawl_max_requests: int = Field(50, ge=1)
    crawl_max_seconds: float = Field(50.0, gt=0, le=_YEAR)
    score_every_s: float = Field(600.0, gt=0, le=_YEAR)
    report_cron: str = "0 * * * *"
    report_at_start: bool = True
    misfire_grace_s: float = Field(120.0, gt=0, le=_YEAR)
    stale_after_s: float = Field(900.0, gt=0, le=_YEAR)

    @field_validator("report_cron")
    @classmethod
    def _five_cron_fields(cls, value: str) -> str:
        """The shape of a crontab line, checked with the file (the daemon reads the values
        before it opens the database: :func:`botsweep.cron.report_trigger`)."""
        from botsweep.cron import check_shape

        return check_shape(value)


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
        # load_settings merges the file and the environment itself (so that an error can
        # name the variable it came from, and a plain list such as A,B parses); the
        # result arrives as init kwargs.  Settings() alone gives the defaults.
        return (init_settings,)


def _default_path(environ: Mapping[str, str]) -> Path | None:
    env = environ.get("BOTSWEEP_CONFIG")
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
    for key in data:
        if not isinstance(key, str):
            raise ConfigError(
                f"{path}: unknown key {key!r}; expected section names such as database, api"
            )
    _refuse_literal_secrets(str(path), data)
    return data


def _secret_refused(source: str, name: str) -> ConfigError:
    return ConfigError(
        f"{source}: {name}: secrets are never read from the configuration; export the "
        "token in an environment variable and name that variable in "
        "api.bearer_token_env (for example [X_BEARER_TOKEN])"
    )


def _refuse_literal_secrets(source: str, data: Mapping[Any, Any], prefix: str = "") -> None:
    for key, value in data.items():
        name = f"{prefix}{key}"
        if str(key).lower() in _SECRET_KEYS and value not in (None, ""):
            raise _secret_refused(source, name)
        if isinstance(value, dict):
            _refuse_literal_secrets(source, value, f"{name}.")


def _did_you_mean(name: str, choices: typing.Iterable[str]) -> str:
    close = difflib.get_close_matches(name, list(choices), n=1)
    return f"did you mean {close[0]!r}? " if close else ""


def _section_fields(section: str) -> dict[str, Any]:
    model = Settings.model_fields[section].annotation
    return dict(model.model_fields) if isinstance(model, type) else {}


def _env_value(var: str, raw: str, annotation: Any) -> Any:
    """A string from the environment, shaped for ``annotation`` (pydantic does the rest)."""
    args = typing.get_args(annotation)
    if type(None) in args and raw.strip().lower() in ("", "null", "none", "~"):
        return None
    if list in (typing.get_origin(annotation), *(typing.get_origin(a) for a in args)):
        text_ = raw.strip()
        if text_.startswith("["):
            try:
                return json.loads(text_)
            except ValueError:
                raise ConfigError(
                    f"{var}: not a JSON list; expected a list such as [\"A\",\"B\"] or A,B"
                ) from None
        return [part.strip() for part in text_.split(",") if part.strip()]
    return raw


def _env_overrides(
    environ: Mapping[str, str],
) -> tuple[dict[str, dict[str, Any]], dict[tuple[str, str], str]]:
    """``BOTSWEEP_<SECTION>__<KEY>`` variables as {section: {key: value}}, and where each
    key came from; an unknown section or key is refused."""
    sections = list(Settings.model_fields)
    data: dict[str, dict[str, Any]] = {}
    origin: dict[tuple[str, str], str] = {}
    for var in sorted(environ):
        upper = var.upper()
        if not upper.startswith(_ENV_PREFIX) or upper in _NOT_KEYS:
            continue
        section, sep, key = upper[len(_ENV_PREFIX):].partition("__")
        section, key = section.lower(), key.lower()
        if not sep:
            if section in sections:
                first = next(iter(_section_fields(section)))
                raise ConfigError(
                    f"{var}: set one key at a time, as {_ENV_PREFIX}{section.upper()}__<KEY> "
                    f"(for example {_ENV_PREFIX}{section.upper()}__{first.upper()})"
                )
            continue  # not a setting (BOTSWEEP_DEMO_TOKEN names a token, for instance)
        if section not in sections:
            raise ConfigError(
                f"{var}: unknown section {section!r}; {_did_you_mean(section, sections)}"
                f"expected {_ENV_PREFIX}<SECTION>__<KEY> with a section of config.yaml "
                f"({', '.join(sections)})"
            )
        fields = _section_fields(section)
        if key in _SECRET_KEYS:
            raise _secret_refused(var, f"{section}.{key}")
        if key not in fields:
            raise ConfigError(
                f"{var}: unknown key '{section}.{key}'; {_did_you_mean(key, fields)}"
                f"see config.yaml for the keys of {section}"
            )
        data.setdefault(section, {})[key] = _env_value(var, environ[var], fields[key].annotation)
        origin[(section, key)] = var
    return data, origin


def _format_error(
    source: str, origin: Mapping[tuple[str, str], str], exc: ValidationError
) -> str:
    first = exc.errors()[0]
    loc = tuple(str(part) for part in first["loc"])
    key = ".".join(loc)
    where = origin.get((loc[0], loc[1]), source) if len(loc) >= 2 else source
    more = f" (and {len(exc.errors()) - 1} more)" if len(exc.errors()) > 1 else ""
    if first["type"] == "extra_forbidden":
        choices = Settings.model_fields if len(loc) == 1 else _section_fields(loc[0])
        return (
            f"{where}: unknown key {key!r}; {_did_you_mean(loc[-1], choices)}"
            "see config.yaml for the keys that exist"
        )
    message = first["msg"].removeprefix("Value error, ")
    if loc[:2] in _HIDDEN:  # it may hold a token: never echo it
        return f"{where}: {key}: {message}{more}"
    value = first.get("input")
    shown = repr(value) if not isinstance(value, dict) else "a mapping"
    return f"{where}: {key} = {shown}: {message}{more}"


def _file_path_defaults(data: dict[str, Any]) -> None:
    """Give a config file the default database and report paths it leaves out, so that
    they too sit beside the file: a config that does not name its database means the one in
    its own folder, not one in whatever folder the command runs in."""
    defaults = {("database", "url"): DatabaseSettings.model_fields["url"].default,
                ("report", "out"): str(ReportSettings.model_fields["out"].default)}
    for (section, key), default in defaults.items():
        if data.get(section) is None:
            data[section] = {}
        values = data[section]
        if isinstance(values, dict):  # another type stays, for validation to name
            values.setdefault(key, default)


def load_settings(
    path: Path | str | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    **overrides: Any,
) -> Settings:
    """Load, merge and validate settings; raise ConfigError with one clear line.

    The file (``path``, else ``$BOTSWEEP_CONFIG``, else ``./config.yaml`` when present)
    comes first, then whole sections from ``overrides``, then ``BOTSWEEP_<SECTION>__<KEY>``
    variables from ``environ`` (default: ``os.environ``), key by key.  Relative paths
    written in the file, and the default database and report paths when a file is used,
    are relative to the file's folder (see :mod:`botsweep.config_paths`); paths from the
    environment, to the current directory.
    """
    env = os.environ if environ is None else environ
    chosen = Path(path) if path is not None else _default_path(env)
    data: dict[str, Any] = _read_yaml(chosen) if chosen is not None else {}
    if chosen is not None:  # before the environment: only the file's own paths move
        _file_path_defaults(data)
        rebase_file_paths(data, chosen.parent.resolve())
    for key, value in overrides.items():
        data[key] = value
    for section in Settings.model_fields:
        if section in data and data[section] is None:
            data[section] = {}  # a section whose keys are all commented out
    env_data, origin = _env_overrides(env)
    for section, values in env_data.items():
        current = data.get(section, {})
        if isinstance(current, dict):
            data[section] = {**current, **values}
        # else the file's bad value stays, and its error names the file
    source = str(chosen) if chosen is not None else "config"
    try:
        return Settings(**data)
    except ValidationError as exc:
        raise ConfigError(_format_error(source, origin, exc)) from None


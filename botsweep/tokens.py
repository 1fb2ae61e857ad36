"""Bearer tokens: read from the environment variables that config.yaml names, checked,
and registered as secrets so that no log line, error or report can show them."""

from __future__ import annotations

import logging
import os
import re
from typing import TYPE_CHECKING

from botsweep.errors import ConfigError

if TYPE_CHECKING:
    from botsweep.config import ApiSettings

__all__ = ["resolve_tokens", "check_token"]

_TOKEN = re.compile(r"[\x21-\x7e]+")  # printable ASCII: no spaces, newlines or controls


def resolve_tokens(api: ApiSettings, environ: dict[str, str] | None = None, *,
                   warn: bool = True) -> dict[str, str]:
    """Map each named env var to its token; raise ConfigError when none is set (and, with
    ``warn``, say which named variables are unset).

    The keys (env var names) are what ledgers and logs may show; the values never are.
    """
    from botsweep.logs import register_secret

    env = os.environ if environ is None else environ
    tokens = {name: env[name] for name in api.bearer_token_env if env.get(name)}
    for name, value in tokens.items():
        check_token(name, value)
    if not tokens:
        names = ", ".join(api.bearer_token_env) or "(none named)"
        raise ConfigError(
            f"no API token: set one of {names} in the environment, or name your own "
            "variable in api.bearer_token_env; `botsweep demo` needs no token"
        )
    unset = [name for name in api.bearer_token_env if name not in tokens]
    if unset and warn:  # a pool smaller than meant: fewer requests per window, said once
        logging.getLogger("botsweep.config").warning(
            "api.bearer_token_env names %s, not set (or empty) in the environment: crawling "
            "with %d of %d tokens", ", ".join(unset), len(tokens), len(api.bearer_token_env))
    for value in tokens.values():
        register_secret(value)
    return tokens


def check_token(name: str, value: str) -> None:
    """Refuse a token holding whitespace, control or non-ASCII characters (a trailing
    newline or ``\\r`` copied from a file, say) before any request is made: it could never
    authenticate, and requests would fail on the header as though the network were down.
    The ConfigError names the variable, never the token."""
    if not _TOKEN.fullmatch(value):
        raise ConfigError(
            f"{name}: the token contains whitespace, a control or a non-ASCII character (a "
            f"stray newline or carriage return?); set {name} again without it"
        )

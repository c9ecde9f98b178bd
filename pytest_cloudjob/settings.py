"""The plugin's settings, each from its option, else its environment variable, else its ini key.

Tokens are the exception: they come only from the environment or from ``--cloud-token-file``, never
from the command line, where they would land in shell history and CI logs. A setting that is wrong is
reported by name before any test runs.
"""
from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from pytest_cloudjob.redaction import register_secret

TOKEN_ENV = {"user": "CLOUDJOB_TOKEN", "other": "CLOUDJOB_OTHER_TOKEN", "admin": "CLOUDJOB_ADMIN_TOKEN"}


@dataclass(frozen=True)
class Setting:
    """One setting's three names and its default."""

    option: str
    env: str
    ini: str
    default: Any
    help: str


SETTINGS: dict[str, Setting] = {
    "url": Setting("--cloud-url", "CLOUDJOB_URL", "cloud_url", None,
                   "URL of the cloud to verify; absent: start the embedded reference cloud on 127.0.0.1"),
    "platforms": Setting("--cloud-platform", "CLOUDJOB_PLATFORMS", "cloud_platforms", ("sim:qa",),
                         "platform to run each cloud test on (repeatable; env: comma separated); default sim:qa"),
    "slow_platform": Setting("--cloud-slow-platform", "CLOUDJOB_SLOW_PLATFORM", "cloud_slow_platform", "sim:slow",
                             "a platform whose jobs run long enough to cancel them; default sim:slow"),
    "timeout": Setting("--cloud-timeout", "CLOUDJOB_TIMEOUT", "cloud_timeout", 60.0,
                       "default deadline in seconds to wait for a job; default 60"),
    "pcvl_version": Setting("--cloud-pcvl-version", "CLOUDJOB_PCVL_VERSION", "cloud_pcvl_version", "0.12.0",
                            "pcvl_version sent with every job; default 0.12.0"),
}


class SettingsError(pytest.UsageError):
    """A setting is missing or wrong; the message names it by all its names."""


@dataclass(frozen=True)
class CloudSettings:
    url: str | None
    platforms: tuple[str, ...]
    slow_platform: str
    timeout: float
    pcvl_version: str
    tokens: Mapping[str, str] = field(default_factory=dict, repr=False)


def add_options(parser: pytest.Parser) -> None:
    group = parser.getgroup("cloudjob", "cloud job service verification (pytest-cloudjob)")
    for name, s in SETTINGS.items():
        kwargs: dict[str, Any] = {"dest": f"cloudjob_{name}", "default": None,
                                  "help": f"{s.help} (env {s.env}, ini {s.ini})"}
        if name == "platforms":
            kwargs["action"] = "append"
        group.addoption(s.option, **kwargs)
        parser.addini(s.ini, f"{s.help} (option {s.option}, env {s.env})",
                      type="args" if name == "platforms" else "string")
    group.addoption("--cloud-token-file", dest="cloudjob_token_file", default=None, metavar="PATH",
                    help="file with the tokens: JSON {user, other, admin} or CLOUDJOB_TOKEN=... lines; "
                         "otherwise CLOUDJOB_TOKEN, CLOUDJOB_OTHER_TOKEN, CLOUDJOB_ADMIN_TOKEN")


def _raw(config: pytest.Config, name: str, environ: Mapping[str, str]) -> tuple[Any, str]:
    """The value of setting ``name`` and where it came from, by precedence option > env > ini > default."""
    s = SETTINGS[name]
    value = config.getoption(f"cloudjob_{name}")
    if value not in (None, []):
        return value, s.option
    if environ.get(s.env, "").strip():
        return environ[s.env].strip(), s.env
    ini = config.getini(s.ini)
    if ini not in (None, "", []):
        return ini, f"ini {s.ini}"
    return s.default, "default"


def _platform_list(value: Any) -> tuple[str, ...]:
    items = value.split(",") if isinstance(value, str) else [p for v in value for p in str(v).split(",")]
    out: list[str] = []
    for item in (i.strip() for i in items):
        if item and item not in out:
            out.append(item)
    return tuple(out)


def read_token_file(path: Path) -> dict[str, str]:
    """Tokens from a JSON object ``{user, other, admin}`` or from ``CLOUDJOB_TOKEN=...`` lines."""
    try:
        text = path.read_text()
    except OSError as exc:
        raise SettingsError(f"--cloud-token-file {path}: cannot read it ({exc.strerror})") from None
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    if isinstance(data, dict):
        unknown = set(data) - set(TOKEN_ENV)
        if unknown:
            raise SettingsError(f"--cloud-token-file {path}: unknown keys {sorted(unknown)}; "
                                f"expected {sorted(TOKEN_ENV)}")
        return {k: str(v) for k, v in data.items() if v}
    by_env = {env: name for name, env in TOKEN_ENV.items()}
    tokens: dict[str, str] = {}
    for lineno, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        if not sep or key.strip() not in by_env:
            raise SettingsError(f"--cloud-token-file {path}, line {lineno}: expected one of "
                                f"{', '.join(by_env)} followed by '=' and the token")
        tokens[by_env[key.strip()]] = value.strip().strip("'\"")
    return tokens


def resolve(config: pytest.Config, environ: Mapping[str, str] = os.environ) -> CloudSettings:
    """Read every setting; raise :class:`SettingsError` naming the first wrong one."""
    url, _ = _raw(config, "url", environ)
    platforms_value, where = _raw(config, "platforms", environ)
    platforms = _platform_list(platforms_value)
    if not platforms:
        raise SettingsError(f"no platform given by {where} (--cloud-platform / CLOUDJOB_PLATFORMS / cloud_platforms)")
    slow, _ = _raw(config, "slow_platform", environ)
    timeout_value, where = _raw(config, "timeout", environ)
    try:
        timeout = float(timeout_value)
        if timeout <= 0:
            raise ValueError
    except (TypeError, ValueError):
        raise SettingsError(f"{where}: the job timeout must be a positive number of seconds, "
                            f"got {timeout_value!r} (--cloud-timeout / CLOUDJOB_TIMEOUT / cloud_timeout)") from None
    pcvl_version, _ = _raw(config, "pcvl_version", environ)
    if url is not None:
        url = str(url).strip().rstrip("/")
        if not url.startswith(("http://", "https://")):
            raise SettingsError(f"the cloud URL must start with http:// or https://, got {url!r} "
                                "(--cloud-url / CLOUDJOB_URL / cloud_url)")
    tokens = {name: environ[env] for name, env in TOKEN_ENV.items() if environ.get(env)}
    token_file = config.getoption("cloudjob_token_file")
    if token_file:
        tokens.update(read_token_file(Path(token_file)))
    for token in tokens.values():
        register_secret(token)
    if url is not None and "user" not in tokens:
        raise SettingsError("a cloud URL is set but no user token: set CLOUDJOB_TOKEN or --cloud-token-file")
    return CloudSettings(url=url, platforms=platforms, slow_platform=str(slow), timeout=timeout,
                         pcvl_version=str(pcvl_version), tokens=tokens)

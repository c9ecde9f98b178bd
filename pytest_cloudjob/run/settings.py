"""The plugin's settings, each from its option, else its environment variable, else its ini key.

Tokens are the exception: they come only from the environment or from ``--cloud-token-file``, never
from the command line, where they would land in shell history and CI logs. A setting that is wrong is
reported by name before any test runs; a token is checked when read (a trailing newline, what
``$(cat token.txt)`` gives, is stripped with a warning; inner whitespace is refused) and only ever
named by its variable, never shown.
"""
from __future__ import annotations

import fnmatch
import json
import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from pytest_cloudjob.api.client import DEFAULT_MAX_RESPONSE_BYTES
from pytest_cloudjob.api.cloud_objects.cloud_job import Job
from pytest_cloudjob.api.cloud_objects.cloud_user import User
from pytest_cloudjob.durations import DURATION_WORDS, parse_duration
from pytest_cloudjob.errors import CloudJobError
from pytest_cloudjob.redaction import add_secret_names, redact, register_secret
from pytest_cloudjob.text import nearest

TOKEN_ENV = {"user": "CLOUDJOB_TOKEN", "other": "CLOUDJOB_OTHER_TOKEN", "admin": "CLOUDJOB_ADMIN_TOKEN"}


def configured_user(tokens: Mapping[str, str], name: str) -> User | None:
    """The user ``name`` (a key of ``TOKEN_ENV``) of a run's ``tokens``, or ``None`` when its token is not set.
    The one place a token becomes a ``User``: the pytest run (``CloudRun``) and the load run read theirs here."""
    token = tokens.get(name)
    return User(token=token, is_admin=name == "admin", name=name) if token else None


def configured_users(tokens: Mapping[str, str]) -> dict[str, User | None]:
    """Every user a run can have (``TOKEN_ENV``'s keys), ``None`` where its token is not set: a scenario's users."""
    return {name: configured_user(tokens, name) for name in TOKEN_ENV}


@dataclass(frozen=True)
class Setting:
    """One setting's three names and its default."""

    option: str
    env: str
    ini: str
    default: Any
    help: str
    kind: str = "text"  # "text", "list" (repeatable option, args ini, comma-separated env) or "flag"


def _setting(key: str, default: Any, help: str, kind: str = "text", *, option: str | None = None) -> Setting:
    """A setting named after its key everywhere: ``--cloud-x``, ``CLOUDJOB_X``, ``cloud_x`` (one exception: the
    repeatable ``--cloud-platform``, one platform per use)."""
    return Setting(option or "--cloud-" + key.replace("_", "-"), "CLOUDJOB_" + key.upper(), "cloud_" + key,
                   default, help, kind)


_PLATFORM = Job.DEFAULT_PLATFORM_NAME
SETTINGS: dict[str, Setting] = {s.ini.removeprefix("cloud_"): s for s in (
    _setting("url", None, "URL of the cloud to verify; absent: start the embedded reference cloud on 127.0.0.1"),
    _setting("platforms", (_PLATFORM,), "platform to run each cloud test on (repeatable; env: comma separated); "
             f"default {_PLATFORM}", "list", option="--cloud-platform"),
    _setting("slow_platform", "sim:slow", "a platform whose jobs run long enough to cancel them; default sim:slow"),
    _setting("timeout", 60.0, "default deadline to wait for a job, in seconds or as 30s, 2m, 500ms; default 60"),
    _setting("call_timeout", 60.0, "total deadline of each call to the cloud (connect, answer, whole body, "
             "retries), in seconds or as 30s, 2m; default 60"),
    _setting("max_response_bytes", DEFAULT_MAX_RESPONSE_BYTES, "the largest response body read from the cloud, a "
             "larger one refused as a protocol error: bytes, or with a unit as 512KiB, 4MiB, 1GB; default 4MiB"),
    _setting("pcvl_version", Job.DEFAULT_PCVL_VERSION,
             f"pcvl_version sent with every job; default {Job.DEFAULT_PCVL_VERSION}"),
    _setting("no_sweep", False, "accept a run against a URL without the end-of-run leak sweep (no admin token)",
             "flag"),
    _setting("max_p95", (), "fail the run if PLATFORM's p95 time to finish exceeds DURATION: PLATFORM=DURATION, "
             "e.g. sim:qa=5s (repeatable; env: comma separated)", "list"),
    _setting("max_status_calls", (), "fail the run if PLATFORM's status calls per job exceed N: PLATFORM=N "
             "(repeatable; env: comma separated)", "list"),
    _setting("alpha", None, "the run's false-alarm budget, shared by every statistical check (distribution) of "
             "the run: each is tested at ALPHA/m, m counted at collection, and the summary applies Holm's step-down "
             "(a number strictly between 0 and 1, e.g. 1e-4); absent: each check at its own alpha"),
    _setting("secret_env", (), "an environment variable whose value is a secret, masked in every report: a NAME "
             "or a glob such as QA_*, added to the default names (repeatable; env: comma separated)", "list"),
)}
_TRUE = ("1", "true", "yes", "on")
_FALSE = ("", "0", "false", "no", "off")


class SettingsError(CloudJobError):
    """A setting is missing or wrong; the message names it by all its names (redacted, never a value)."""

    def __init__(self, message: str) -> None:
        super().__init__(redact(message))


@dataclass(frozen=True)
class CloudSettings:
    url: str | None
    platforms: tuple[str, ...]
    slow_platform: str
    timeout: float
    pcvl_version: str
    tokens: Mapping[str, str] = field(default_factory=dict, repr=False)
    no_sweep: bool = False
    #: Run-level thresholds per platform: p95 time to finish (seconds) and status calls per job.
    max_p95: Mapping[str, float] = field(default_factory=dict)
    max_status_calls: Mapping[str, float] = field(default_factory=dict)
    #: Each call's total deadline in seconds (``CloudContext(call_timeout=...)``).
    call_timeout: float = 60.0
    #: Whether the slow platform was chosen by the user (then preflight refuses it if the cloud lacks it).
    slow_platform_given: bool = False
    #: The run's false-alarm budget (``--cloud-alpha``), or ``None``: each statistical check at its own alpha.
    alpha: float | None = None
    #: The largest response body read (``CloudContext(max_response_bytes=...)``).
    max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES


def add_options(parser: pytest.Parser) -> None:
    group = parser.getgroup("cloudjob", "cloud job service verification (pytest-cloudjob)")
    for name, s in SETTINGS.items():
        kwargs: dict[str, Any] = {"dest": f"cloudjob_{name}", "default": None,
                                  "help": f"{s.help} (env {s.env}, ini {s.ini})"}
        if s.kind == "list":
            kwargs["action"] = "append"
        elif s.kind == "flag":
            kwargs["action"] = "store_true"
        group.addoption(s.option, **kwargs)
        if s.kind == "list":
            parser.addini(s.ini, f"{s.help} (option {s.option}, env {s.env})", type="args")
        else:
            parser.addini(s.ini, f"{s.help} (option {s.option}, env {s.env})", type="string")
    group.addoption("--cloud-token-file", dest="cloudjob_token_file", default=None, metavar="PATH",
                    help="file with the tokens: JSON {user, other, admin} or CLOUDJOB_TOKEN=... lines; "
                         "otherwise CLOUDJOB_TOKEN, CLOUDJOB_OTHER_TOKEN, CLOUDJOB_ADMIN_TOKEN")


def _raw(config: pytest.Config, name: str, environ: Mapping[str, str]) -> tuple[Any, str]:
    """The value of setting ``name`` and where it came from, by precedence option > env > ini > default."""
    s = SETTINGS[name]
    value = config.getoption(f"cloudjob_{name}")
    if value not in (None, [], False):
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


_BAD_TOKEN_CHARS = re.compile(r"[\s\x00-\x1f\x7f]")


def check_token(value: str, where: str, warn: Any = None) -> str:
    """``value`` as an HTTP header can carry it: surrounding whitespace stripped (with a warning naming
    ``where``), a token with inner whitespace or control characters refused. The value is never shown."""
    stripped = value.strip()
    if _BAD_TOKEN_CHARS.search(stripped):
        raise SettingsError(f"{where}: the token contains whitespace or control characters inside it; "
                            "give the token alone, on one line")
    if stripped != value and warn is not None:
        warn(f"{where}: surrounding whitespace or newline removed from the token")
    return stripped


def read_token_file(path: Path, warn: Any = None) -> dict[str, str]:
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
        for value in data.values():
            register_secret(str(value).strip())
        return {k: check_token(str(v), f"--cloud-token-file {path}, key {k!r}", warn) for k, v in data.items() if v}
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
        value = value.strip().strip("'\"")
        register_secret(value)
        tokens[by_env[key.strip()]] = check_token(value, f"--cloud-token-file {path}, line {lineno} ({key.strip()})", warn)
    return tokens


def _check_url(value: object) -> str:
    """The cloud URL, its password registered as a secret; a path ending in ``/api`` or a query refused."""
    url = str(value).strip().rstrip("/")
    names = "(--cloud-url / CLOUDJOB_URL / cloud_url)"
    if not url.startswith(("http://", "https://")):
        raise SettingsError(f"the cloud URL must start with http:// or https://, got {redact(url)!r} {names}")
    parts = urlsplit(url)
    register_secret(parts.password)
    if not parts.hostname:
        raise SettingsError(f"the cloud URL has no host: {redact(url)!r} {names}")
    if parts.query or parts.fragment:
        raise SettingsError(f"the cloud URL must not carry a query or fragment: {redact(url)!r} {names}")
    if parts.path.rstrip("/").endswith("/api"):
        root = redact(url[: len(url) - len("/api")])
        raise SettingsError(f"the cloud URL {redact(url)!r} ends with /api, but the plugin adds /api/... to it "
                            f"itself: give the server's root, {root!r} {names}")
    return url


def _thresholds(config: pytest.Config, name: str, environ: Mapping[str, str], platforms: tuple[str, ...],
                unit: str) -> dict[str, float]:
    """``PLATFORM=VALUE`` pairs of a threshold setting, each platform one the run knows."""
    value, where = _raw(config, name, environ)
    s = SETTINGS[name]
    out: dict[str, float] = {}
    for item in _platform_list(value):
        platform, sep, limit = item.rpartition("=")
        try:
            if not sep or not platform:
                raise ValueError
            parsed = parse_duration(limit) if unit == "duration" else float(limit)
            if parsed is None or parsed < 0:
                raise ValueError
            number = parsed
        except ValueError:
            example = "sim:qa=5s" if unit == "duration" else "sim:qa=10"
            raise SettingsError(f"{where}: expected PLATFORM={'DURATION' if unit == 'duration' else 'N'} "
                                f"(e.g. {example}), got {item!r} ({s.option} / {s.env} / {s.ini})") from None
        if platform not in platforms:
            close = nearest(platform, platforms)
            hint = f"; did you mean {close!r}?" if close else ""
            raise SettingsError(f"{where}: threshold for {platform!r}, which is not a platform of this run "
                                f"({', '.join(platforms)}){hint} ({s.option} / {s.env} / {s.ini})")
        out[platform] = number
    return out


def _flag(config: pytest.Config, name: str, environ: Mapping[str, str]) -> bool:
    value, where = _raw(config, name, environ)
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE or text in _FALSE:
        return text in _TRUE
    s = SETTINGS[name]
    raise SettingsError(f"{where}: expected true or false, got {value!r} ({s.option} / {s.env} / {s.ini})")


_ENV_NAME = re.compile(r"[A-Za-z0-9_*?\[\]!]+")


def _secret_env(config: pytest.Config, environ: Mapping[str, str]) -> None:
    """Add the names of ``--cloud-secret-env`` to the secret variable names, and register the values of
    the variables they name now: a Python test that reads one is masked as a ``{env.NAME}`` is."""
    value, where = _raw(config, "secret_env", environ)
    names = _platform_list(value)
    for name in names:
        if not _ENV_NAME.fullmatch(name):
            s = SETTINGS["secret_env"]
            raise SettingsError(f"{where}: {name!r} is not an environment variable name or glob "
                                f"({s.option} / {s.env} / {s.ini})")
    add_secret_names(names)
    for variable, secret in environ.items():
        if any(fnmatch.fnmatchcase(variable.upper(), name.upper()) for name in names):
            register_secret(secret)


def _alpha(config: pytest.Config, environ: Mapping[str, str]) -> float | None:
    value, where = _raw(config, "alpha", environ)
    if value is None:
        return None
    try:
        alpha = float(str(value).strip())
    except ValueError:
        alpha = math.nan
    if not 0 < alpha < 1:  # NaN fails too
        s = SETTINGS["alpha"]
        raise SettingsError(f"{where}: the run's false-alarm budget must be a number strictly between 0 and 1 "
                            f"(e.g. 1e-4), got {value!r} ({s.option} / {s.env} / {s.ini})")
    return alpha


_BYTE_UNITS = {"": 1, "b": 1, "kb": 1000, "mb": 1000 ** 2, "gb": 1000 ** 3, "k": 1024, "kib": 1024,
               "m": 1024 ** 2, "mib": 1024 ** 2, "g": 1024 ** 3, "gib": 1024 ** 3}
_BYTES = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*")


def parse_byte_size(value: object) -> int | None:
    """``4194304``, ``512KiB``, ``4MiB``, ``1GB`` (K/M/G alone are binary) as a positive number of bytes, else ``None``."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value > 0 else None
    match = _BYTES.fullmatch(str(value).lower())
    if match is None or match.group(2) not in _BYTE_UNITS:
        return None
    size = int(float(match.group(1)) * _BYTE_UNITS[match.group(2)])
    return size if size > 0 else None


def _max_response_bytes(config: pytest.Config, environ: Mapping[str, str]) -> int:
    value, where = _raw(config, "max_response_bytes", environ)
    size = parse_byte_size(value)
    if size is None:
        s = SETTINGS["max_response_bytes"]
        raise SettingsError(f"{where}: the largest response body must be a positive number of bytes, or with a unit "
                            f"(512KiB, 4MiB, 1GB), got {value!r} ({s.option} / {s.env} / {s.ini})")
    return size


#: An unknown ini key this close to one of ours is taken for a misspelling of it.
INI_TYPO = 0.8


def check_ini_keys(config: pytest.Config) -> None:
    """A misspelt ini key of ours (``cloud_platform`` for ``cloud_platforms``) stops the run, naming the right
    one: pytest would only warn (``Unknown config option``) and the run would go green on the default."""
    unknown_keys = getattr(config, "_get_unknown_ini_keys", None)
    if unknown_keys is None:  # a pytest without it: its own warning still says it
        return
    ours = sorted({s.ini for s in SETTINGS.values()} | {"cloud_scenario_patterns"})
    for key in sorted(unknown_keys()):
        hint = nearest(key, ours, INI_TYPO)
        if key.startswith("cloud_") or hint:
            did_you_mean = f" (did you mean {hint!r}?)" if hint else ""
            raise SettingsError(f"ini {key}: not a setting of pytest-cloudjob{did_you_mean}; its ini keys are "
                                f"{', '.join(ours)} (docs/configuration.md)")


#: ``CLOUDJOB_*`` variables of other parts of the package (the reference cloud, the mutation and load runs).
_OTHER_VARIABLES = ("CLOUDJOB_PHYSICS_CACHE", "CLOUDJOB_REF_", "CLOUDJOB_MUTATION_", "CLOUDJOB_LOAD_")


def misspelt_variables(environ: Mapping[str, str]) -> list[str]:
    """A warning per ``CLOUDJOB_*`` variable that is none of ours but close to one (``CLOUDJOB_PLATFORM``):
    it is ignored, and the run would otherwise go on with the default, silently."""
    ours = sorted({s.env for s in SETTINGS.values()} | set(TOKEN_ENV.values()))
    out = []
    for name in sorted(environ):
        if not name.startswith("CLOUDJOB_") or name in ours or name.startswith(_OTHER_VARIABLES):
            continue
        hint = nearest(name, ours, 0.88)  # closer than for ini keys: the environment holds many variables
        if hint:
            out.append(f"{name} is not a variable of pytest-cloudjob and is ignored (did you mean {hint}?)")
    return out


def resolve(config: pytest.Config, environ: Mapping[str, str] = os.environ) -> CloudSettings:
    """Read every setting; raise :class:`SettingsError` naming the first wrong one."""
    def warn(message: str) -> None:
        config.issue_config_time_warning(pytest.PytestConfigWarning(message), stacklevel=2)

    check_ini_keys(config)
    for line in misspelt_variables(environ):
        warn(line)

    _secret_env(config, environ)
    tokens: dict[str, str] = {}
    for name, env in TOKEN_ENV.items():
        if environ.get(env):
            register_secret(environ[env].strip())
            tokens[name] = check_token(environ[env], env, warn)
    token_file = config.getoption("cloudjob_token_file")
    if token_file:
        tokens.update(read_token_file(Path(token_file), warn))
    tokens = {name: token for name, token in tokens.items() if token}
    for token in tokens.values():
        register_secret(token)
    url, _ = _raw(config, "url", environ)
    if url is not None:
        url = _check_url(url)
    platforms_value, where = _raw(config, "platforms", environ)
    platforms = _platform_list(platforms_value)
    if not platforms:
        raise SettingsError(f"no platform given by {where} (--cloud-platform / CLOUDJOB_PLATFORMS / cloud_platforms)")
    slow, slow_where = _raw(config, "slow_platform", environ)
    timeout_value, where = _raw(config, "timeout", environ)
    timeout = parse_duration(timeout_value)
    if timeout is None:
        raise SettingsError(f"{where}: the job timeout must be a positive number of seconds, got {timeout_value!r}; "
                            f"{DURATION_WORDS} also works (--cloud-timeout / CLOUDJOB_TIMEOUT / cloud_timeout)")
    call_timeout_value, where = _raw(config, "call_timeout", environ)
    call_timeout = parse_duration(call_timeout_value)
    if call_timeout is None or not math.isfinite(call_timeout):
        raise SettingsError(f"{where}: the call timeout must be a positive, finite number of seconds, got "
                            f"{call_timeout_value!r}; {DURATION_WORDS} also works "
                            "(--cloud-call-timeout / CLOUDJOB_CALL_TIMEOUT / cloud_call_timeout)")
    pcvl_version, _ = _raw(config, "pcvl_version", environ)
    if url is not None and "user" not in tokens:
        raise SettingsError("a cloud URL is set but no user token: set CLOUDJOB_TOKEN or --cloud-token-file")
    known = tuple(dict.fromkeys((*platforms, str(slow))))
    return CloudSettings(url=url, platforms=platforms, slow_platform=str(slow), timeout=timeout,
                         pcvl_version=str(pcvl_version), tokens=tokens, no_sweep=_flag(config, "no_sweep", environ),
                         max_p95=_thresholds(config, "max_p95", environ, known, "duration"),
                         max_status_calls=_thresholds(config, "max_status_calls", environ, known, "count"),
                         call_timeout=call_timeout, slow_platform_given=slow_where != "default",
                         alpha=_alpha(config, environ),
                         max_response_bytes=_max_response_bytes(config, environ))

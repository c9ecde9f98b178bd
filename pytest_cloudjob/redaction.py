"""The one redaction choke point: every error text, log line and report goes through :func:`redact`.

Tokens are registered as soon as a :class:`~pytest_cloudjob.User` is built, so a secret is masked
even in text the harness did not expect to carry it (an echoing server, a traceback). Passwords in a
URL's user-info (``https://user:pass@host``) are masked by shape, whether registered or not.

A cloud may echo a token in another form than the raw one, so each registered secret is masked in
every form below, found by one regular expression compiled once per secret (:func:`_secret_pattern`):

- in any letter case (``Bearer`` headers are often upper-cased in echoes);
- each character raw or escaped as a URL (``%2F``, ``%252F``), JSON or ``repr`` (``\\/``, ``\\"``,
  ``\\\\``, ``\\u002f``, ``\\x2f``) or XML/HTML (``&#47;``, ``&#x2f;``, ``&quot;``) would write it, in
  any mix: a ``quote_plus``'d, form-encoded, JSON-dumped or partly ``\\uXXXX``-escaped token is found;
- base64 (standard or URL-safe alphabet, padded or not) of any text holding it, ``Bearer <tok>`` or
  Basic ``user:<tok>``: the characters that encode only the token's bytes, at each of the three byte
  alignments the token can have in the encoded text. At most one character on each side, which also
  carries bits of the neighbouring text, is left.
"""
from __future__ import annotations

import base64
import fnmatch
import logging
import re
import threading
import traceback
from collections.abc import Callable, Iterable
from typing import Any, NamedTuple

MASK = "***"
_BEARER = re.compile(r"(?i)(bearer\s+)[^\s\"',;\\]+")
_URL_PASSWORD = re.compile(r"(?i)(\b[a-z][a-z0-9+.-]*://[^\s/:@\"']*:)[^\s/@\"']+@")
_MIN_SECRET_LENGTH = 4
#: A long secret's head or tail of at least this many characters is masked too: pytest's assertion
#: messages shorten long strings to ``'86SMHLiG2yyh...yTrcuNk_H2GPl'``, which would show half a token.
_MIN_FRAGMENT = 10
#: How many backslashes may escape one character: ``repr`` of JSON of JSON still fits.
_MAX_ESCAPES = 8
#: A base64 run shorter than this is not masked: too short to tell a token from other base64.
_MIN_BASE64 = 6
#: The characters that start every escaped form: a text without them can hold a secret only raw
#: (in some letter case) or base64'd, which plain substring checks find.
_ESCAPE_STARTS = ("\\", "%", "&")
_NAMED_ENTITIES = {'"': "quot", "'": "apos", "&": "amp", "<": "lt", ">": "gt"}
_URLSAFE = str.maketrans("+/", "-_")


class _Forms(NamedTuple):
    """One secret's regular expression, built once when it is registered."""

    source: str
    #: The characters a match can start with.
    starts: frozenset[str]
    #: The secret itself, or its head and tail when it is long: what a text holding it raw contains.
    fragments: frozenset[str]
    #: Its base64 runs: one of them is in a text without escapes holding it base64'd.
    base64: frozenset[str]


_lock = threading.Lock()
_secrets: set[str] = set()
_pattern: re.Pattern[str] | None = None
#: Substrings that any text holding a secret (or a head or tail of one) contains, when it holds no
#: escape: a fast ``in`` check on them spares the regular expression for almost every call.
_needles: tuple[str, ...] = ()
_lower_needles: tuple[str, ...] = ()
_base64_needles: tuple[str, ...] = ()
#: Every character of a secret or of its base64 runs, lower-cased: an escape of none of them is no form.
_secret_chars: frozenset[str] = frozenset()
_long_secrets: tuple[str, ...] = ()
_forms: dict[str, _Forms] = {}

#: Environment variables whose values are secrets, by name: a ``{env.NAME}`` whose name holds one of
#: these words anywhere (``QA_API_KEY``, ``GITHUB_TOKEN``, ``DB_CREDENTIALS``) ...
_SECRET_WORDS = re.compile(r"TOKEN|SECRET|PASSWORD|PASSWD|PASSPHRASE|CREDENTIAL|API_?KEY|PRIVATE|COOKIE|BEARER"
                           r"|AUTHORI[SZ]ATION", re.I)
#: ... or one of these as a whole part between underscores or digits (``QA_PASS``, ``SSH_KEY``,
#: ``BASIC_AUTH``, ``SESSION_ID``, but not ``COMPASS``, ``MONKEY`` or ``AUTHOR``) ...
_SECRET_PARTS = re.compile(r"(?:^|_|\d)(?:KEY|PASS|PWD|AUTH|CREDS|SESSION|JWT|OTP|PIN)(?=_|\d|$)", re.I)
#: ... except the shell's working directories, which are paths, not passwords.
_NOT_SECRET_NAMES = frozenset({"PWD", "OLDPWD"})
_extra_secret_names: tuple[str, ...] = ()


def add_secret_names(patterns: Iterable[str]) -> None:
    """Treat environment variables named by ``patterns`` (names or ``*`` globs, any case) as secrets too."""
    global _extra_secret_names
    added = tuple(p.strip().upper() for p in patterns if p.strip())
    _extra_secret_names = tuple(dict.fromkeys((*_extra_secret_names, *added)))


def is_secret_name(name: str) -> bool:
    """Whether the environment variable ``name`` holds a secret, by the default words or a name added
    with ``--cloud-secret-env``."""
    upper = name.upper()
    if any(fnmatch.fnmatchcase(upper, pattern) for pattern in _extra_secret_names):
        return True
    if upper in _NOT_SECRET_NAMES:
        return False
    return bool(_SECRET_WORDS.search(upper) or _SECRET_PARTS.search(upper))


def _char_class(chars: Iterable[str]) -> str:
    return "[" + "".join(re.escape(c) for c in sorted(set(chars))) + "]"


def _unit(char: str, run: int = 1) -> str:
    """The regular expression of ``run`` times ``char``, each raw or escaped in any of the ways a URL,
    JSON, ``repr`` or XML writes it (hexadecimal digits in any case: the caller scopes ``(?i)``)."""
    code = ord(char)
    slashes = rf"\\{{1,{_MAX_ESCAPES}}}"
    escapes = ["".join(f"%(?:25)?{b:02x}" for b in char.encode("utf-8", "surrogatepass")),
               f"&#0*{code};", f"&#x0*{code:x};"]
    escapes.append(f"{slashes}u{code:04x}" if code < 0x10000 else f"{slashes}U{code:08x}")
    if code < 0x100:
        escapes.append(f"{slashes}x{code:02x}")
    if char in _NAMED_ENTITIES:
        escapes.append(f"&{_NAMED_ENTITIES[char]};")
    if char == " ":
        escapes.append(r"\+")
    if char == "\\":  # a run of k backslashes: k raw, 2k in JSON or a repr, 4k escaped twice, or mixed
        return rf"(?:{'|'.join(escapes)}|\\){{{run},}}"
    # Only punctuation is escaped by a backslash (``\/``, ``\"``): ``\n`` is a newline, not an ``n``.
    prefix = "" if char.isascii() and char.isalnum() else rf"\\{{0,{_MAX_ESCAPES}}}"
    # Escapes first: a raw `\u` (a `\` then a `u`) must not end a match short of the `\u0055` escaping a `U`.
    return rf"(?:{'|'.join(escapes)}|{prefix}{re.escape(char)})"


def _escaped(text: str, cased: bool) -> str:
    """``text`` as a regular expression matching each of its characters raw or escaped; letters in any
    case unless ``cased`` (base64 is case-sensitive, its ``+`` and ``/`` are escaped in JSON too)."""
    parts = []
    for run in re.finditer(r"(\\+)|.", text, re.S):
        char = run.group()
        if cased and char.isascii() and char.isalnum():
            parts.append(re.escape(char))
        elif run.group(1):
            parts.append(_unit("\\", len(char)))
        else:
            parts.append(f"(?i:{_unit(char)})" if cased else _unit(char))
    joined = "".join(parts)
    return f"(?i:{joined})" if not cased else joined


def _base64_runs(secret: str) -> set[str]:
    """The base64 characters (standard and URL-safe alphabets) that encode ``secret``'s bytes alone, at
    each of the three alignments it can have in a longer encoded text. Padding never falls inside."""
    data = secret.encode("utf-8", "surrogatepass")
    runs: set[str] = set()
    for offset in range(3):
        encoded = base64.b64encode(bytes(offset) + data).decode("ascii")
        run = encoded[(offset * 8 + 5) // 6:((offset + len(data)) * 8) // 6]
        if len(run) >= _MIN_BASE64:
            runs.update((run, run.translate(_URLSAFE)))
    return runs


def _first_chars(text: str, cased: bool) -> set[str]:
    """The characters a form of ``text`` (see :func:`_escaped`) can start with."""
    first = text[0]
    chars = {first, *_ESCAPE_STARTS}
    if not cased or not (first.isascii() and first.isalnum()):
        chars.update(first.lower(), first.upper(), first.casefold())
    if first == " ":
        chars.add("+")
    return {c for chunk in chars for c in chunk}


def _secret_forms(secret: str) -> _Forms:
    """Every form of ``secret`` (see the module's doc) as one regular expression."""
    runs = sorted(_base64_runs(secret), key=len, reverse=True)
    forms = [(secret, False), *((run, True) for run in runs)]
    sources = [_escaped(text, cased) for text, cased in forms]
    starts = set().union(*(_first_chars(text, cased) for text, cased in forms))
    fragments = (secret[:_MIN_FRAGMENT], secret[-_MIN_FRAGMENT:]) if len(secret) >= 2 * _MIN_FRAGMENT else (secret,)
    return _Forms("|".join(sources), frozenset(starts), frozenset(fragments), frozenset(runs))


def register_secret(value: str | None) -> None:
    """Mask ``value`` wherever it appears from now on, in every form (too-short values are refused as
    secrets). Its regular expression is built here, once; the combined one at the next use."""
    global _pattern, _needles, _lower_needles, _long_secrets, _base64_needles, _secret_chars
    if not value or len(value) < _MIN_SECRET_LENGTH or value in _secrets:
        return
    forms = _secret_forms(value)
    with _lock:
        if value in _secrets:
            return
        _secrets.add(value)
        _forms[value] = forms
        _pattern = None
        ordered = sorted(_secrets, key=len, reverse=True)
        _long_secrets = tuple(s for s in ordered if len(s) >= 2 * _MIN_FRAGMENT)
        _needles = tuple({n for s in ordered for n in _forms[s].fragments})
        _base64_needles = tuple({n for s in ordered for n in _forms[s].base64})
        _lower_needles = tuple({s.lower() for s in ordered})
        _secret_chars = frozenset("".join(ordered).lower() + "".join(_base64_needles).lower())


def _combined() -> re.Pattern[str] | None:
    """The one regular expression of every registered secret, compiled at the first use after a change.
    A lookahead on the characters a match can start with lets the engine pass every other position fast."""
    global _pattern
    with _lock:
        if _pattern is None and _secrets:
            ordered = sorted(_secrets, key=len, reverse=True)
            starts = {c for s in ordered for c in _forms[s].starts}
            body = "|".join(_forms[s].source for s in ordered)
            _pattern = re.compile(f"(?={_char_class(starts)})(?:{body})")
        return _pattern


def _may_hold_a_secret(text: str, lowered: str) -> bool:
    """A fast, never wrong "no". A form of a secret is either plain (the secret in some letter case, a
    head or tail of it, a base64 run: substring checks) or holds an escape of one of its characters."""
    if any(needle in text for needle in _needles) or any(run in text for run in _base64_needles):
        return True
    if any(needle in lowered for needle in _lower_needles):
        return True
    if " " in _secret_chars and "+" in text:  # quote_plus writes a space as +
        return True
    return any(start in text for start in _ESCAPE_STARTS) and _escapes_touch_secrets(text)


#: Every escape that :func:`_unit` matches. A backslash before ``%`` or ``&`` leaves them to start their
#: own escape (a backslash then `&quot;` is a quote).
_ESCAPE = re.compile(r"\\+(?:U([0-9a-fA-F]{8})|[uU]([0-9a-fA-F]{4})|[xX]([0-9a-fA-F]{2})|([^0-9A-Za-z%&])"
                     r"|(?=([%&])))"
                     r"|%(?:25)?([0-9a-fA-F]{2})|&#[xX]0*([0-9a-fA-F]{1,6});|&#0*([0-9]{1,7});"
                     r"|&(quot|apos|amp|lt|gt);", re.I)
_ENTITY_CHARS = {name: char for char, name in _NAMED_ENTITIES.items()}


def _escapes_touch_secrets(text: str) -> bool:
    """Whether an escape in ``text`` (any that :func:`_unit` matches) writes a character of a secret;
    a non-ASCII one counts as yes (it may be one byte of a UTF-8 sequence)."""
    for long, short, byte, punctuation, before, percent, entity, decimal, named in set(_ESCAPE.findall(text)):
        if punctuation or before or named:
            char = punctuation or before or _ENTITY_CHARS[named.lower()]
        else:
            code = int(decimal) if decimal else int(long or short or byte or percent or entity, 16)
            if code >= 0x80:
                return True
            char = chr(code)
        if char.lower() in _secret_chars:
            return True
    return False


def _mask_fragments(text: str, secrets: tuple[str, ...]) -> str:
    """``text`` with every head and tail (``_MIN_FRAGMENT`` characters or more) of the long ``secrets``
    masked, each extended as far as it matches the secret."""
    spans: list[tuple[int, int]] = []
    for secret in secrets:
        head, tail = secret[:_MIN_FRAGMENT], secret[-_MIN_FRAGMENT:]
        start = text.find(head)
        while start >= 0:
            end = start + _MIN_FRAGMENT
            while end < len(text) and end - start < len(secret) and text[end] == secret[end - start]:
                end += 1
            spans.append((start, end))
            start = text.find(head, end)
        end = text.find(tail) + _MIN_FRAGMENT
        while end >= _MIN_FRAGMENT:
            start = end - _MIN_FRAGMENT
            while start > 0 and end - start < len(secret) and text[start - 1] == secret[len(secret) - (end - start) - 1]:
                start -= 1
            spans.append((start, end))
            end = text.find(tail, end) + _MIN_FRAGMENT
    if not spans:
        return text
    out, position = [], 0
    for start, end in sorted(spans):
        if end <= position:
            continue
        out.append(text[position:max(start, position)])
        out.append(MASK if start >= position else "")
        position = end
    out.append(text[position:])
    return "".join(out)


def redact(text: object) -> str:
    """Return ``text`` as a string with bearer tokens, URL passwords and every registered secret masked,
    in every form the module's doc lists."""
    out = text if isinstance(text, str) else str(text)
    lowered = out.lower()
    if _secrets and _may_hold_a_secret(out, lowered):
        pattern = _combined()
        if pattern is not None:
            out = _mask_fragments(pattern.sub(MASK, out), _long_secrets)
    # The shapes' own substrings first: most texts hold no URL with a user and no bearer value.
    if "://" in out and "@" in out:
        out = _URL_PASSWORD.sub(lambda m: m.group(1) + MASK + "@", out)
    return _BEARER.sub(lambda m: m.group(1) + MASK, out) if "bearer" in lowered else out


def redact_data(value: Any) -> Any:
    """``value`` (decoded JSON) with every string in it redacted, keys included; structure kept intact."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, list):
        return [redact_data(v) for v in value]
    if isinstance(value, dict):
        return {redact(k): redact_data(v) for k, v in value.items()}
    return value


def install_log_redaction() -> Callable[[], None]:
    """Make every log record of the process pass through :func:`redact`; returns the undo function.

    A record factory rather than a handler filter: it sees each record once, whichever handler (pytest's
    capture, a file, the console) ends up writing it. A record's traceback (``logging.exception``) and
    stack are formatted here, redacted, and kept as the record's text, so no handler formats them raw.
    """
    previous = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # a malformed record is logging's own error to report, unchanged
            return record
        masked = redact(message)
        if masked != message:
            record.msg, record.args = masked, None
        if record.exc_info and record.exc_info[0] is not None and not record.exc_text:
            record.exc_text = redact("".join(traceback.format_exception(*record.exc_info)).rstrip("\n"))
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return record

    logging.setLogRecordFactory(factory)

    def uninstall() -> None:
        if logging.getLogRecordFactory() is factory:
            logging.setLogRecordFactory(previous)

    return uninstall

"""The one redaction choke point: every error text, log line and report goes through :func:`redact`.

Tokens are registered as soon as a :class:`~pytest_cloudjob.User` is built, so a secret is masked
even in text the harness did not expect to carry it (an echoing server, a traceback). Passwords in a
URL's user-info (``https://user:pass@host``) are masked by shape, whether registered or not.

A cloud may echo a token in another form than the raw one, so each registered secret is masked in
every form below, found by one regular expression per secret, built once (:func:`_secret_forms`):

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
    """One secret's regular expression and the substrings that tell a text may hold it, built once when
    it is registered (the expression is compiled at its first use: most secrets never show)."""

    #: Every form, behind a lookahead on the characters a match can start with.
    source: str
    #: The secret itself, or its head and tail when it is long: what a text holding it raw contains.
    fragments: frozenset[str]
    lower: str
    #: Its base64 runs: one of them is in a text without escapes holding it base64'd.
    base64: frozenset[str]
    #: Its characters and its base64 runs', lower-cased: a text whose escapes write none of them holds
    #: no escaped form of it.
    chars: frozenset[str]


_lock = threading.Lock()
_secrets: set[str] = set()
_forms: dict[str, _Forms] = {}
_compiled: dict[str, re.Pattern[str]] = {}
#: The registered secrets, longest first: a secret that holds another is masked whole.
_ordered: tuple[str, ...] = ()

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
    """Every form of ``secret`` (see the module's doc) as one regular expression, and its substrings."""
    runs = sorted(_base64_runs(secret), key=len, reverse=True)
    forms = [(secret, False), *((run, True) for run in runs)]
    sources = "|".join(_escaped(text, cased) for text, cased in forms)
    starts = set().union(*(_first_chars(text, cased) for text, cased in forms))
    fragments = (secret[:_MIN_FRAGMENT], secret[-_MIN_FRAGMENT:]) if len(secret) >= 2 * _MIN_FRAGMENT else (secret,)
    return _Forms(f"(?={_char_class(starts)})(?:{sources})", frozenset(fragments), secret.lower(),
                  frozenset(runs), frozenset((secret + "".join(runs)).lower()))


def register_secret(value: str | None) -> None:
    """Mask ``value`` wherever it appears from now on, in every form (too-short values are refused as
    secrets). Its regular expression is built here, once, and compiled at its first use."""
    global _ordered
    if not value or len(value) < _MIN_SECRET_LENGTH or value in _secrets:
        return
    forms = _secret_forms(value)
    with _lock:
        if value in _secrets:
            return
        _forms[value] = forms
        _secrets.add(value)
        _ordered = tuple(sorted(_secrets, key=len, reverse=True))


def _pattern_of(secret: str) -> re.Pattern[str]:
    pattern = _compiled.get(secret)
    if pattern is None:
        pattern = _compiled[secret] = re.compile(_forms[secret].source)
    return pattern


def _candidates(text: str, lowered: str) -> list[str]:
    """The secrets ``text`` may hold, by a fast, never wrong "no": a form of a secret is either plain
    (the secret in some letter case, its head or tail, a base64 run: substring checks) or holds an escape
    of one of its characters."""
    escaped: frozenset[str] | None = frozenset()
    if any(start in text for start in _ESCAPE_STARTS):
        escaped = _escaped_chars(text)
    plus = "+" in text
    return [secret for secret in _ordered
            if (forms := _forms[secret]).lower in lowered or any(f in text for f in forms.fragments)
            or any(run in text for run in forms.base64) or escaped is None or not forms.chars.isdisjoint(escaped)
            or plus and " " in secret]  # quote_plus writes a space as +


#: Every escape that :func:`_unit` matches. A backslash before ``%`` or ``&`` leaves them to start their
#: own escape (a backslash then `&quot;` is a quote). Two backslashes or more may also be an escaped
#: backslash: ``\\\\x41`` is a backslash then ``x41``, or a backslash then ``A``.
_ESCAPE = re.compile(r"(\\+)(?:U([0-9a-fA-F]{8})|[uU]([0-9a-fA-F]{4})|[xX]([0-9a-fA-F]{2})|([^0-9A-Za-z%&])"
                     r"|(?=([%&])))"
                     r"|%(?:25)?([0-9a-fA-F]{2})|&#[xX]0*([0-9a-fA-F]{1,6});|&#0*([0-9]{1,7});"
                     r"|&(quot|apos|amp|lt|gt);", re.I)
_ENTITY_CHARS = {name: char for char, name in _NAMED_ENTITIES.items()}


def _escaped_chars(text: str) -> frozenset[str] | None:
    """The characters, lower-cased, that the escapes in ``text`` (any that :func:`_unit` matches) write;
    ``None`` if one writes a non-ASCII character (it may be one byte of a UTF-8 sequence: any secret)."""
    chars = set()
    for slashes, long, short, byte, punctuation, before, percent, entity, decimal, named in set(
            _ESCAPE.findall(text)):
        if len(slashes) > 1:
            chars.add("\\")
        if punctuation or before or named:
            chars.add((punctuation or before or _ENTITY_CHARS[named.lower()]).lower())
            continue
        code = int(decimal) if decimal else int(long or short or byte or percent or entity, 16)
        if code >= 0x80:
            return None
        chars.add(chr(code).lower())
    if "%25" in text:
        chars.add("%")  # %2541 may be an escaped % then 41, not an A
    return frozenset(chars)


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
    if _ordered:
        candidates = _candidates(out, lowered)
        for secret in candidates:
            out = _pattern_of(secret).sub(MASK, out)
        long_secrets = tuple(s for s in candidates if len(s) >= 2 * _MIN_FRAGMENT)
        if long_secrets:
            out = _mask_fragments(out, long_secrets)
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

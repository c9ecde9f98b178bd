"""The forms in which a cloud may echo a token (issue 19, "Secrets in other forms"), and an oracle that
finds a token in a text by decoding it, independently of how :func:`~pytest_cloudjob.redaction.redact`
finds it. A form is a transformation of a whole header or token, as a server's echo would apply it."""
from __future__ import annotations

import base64
import contextlib
import html
import json
import re
import string
from collections.abc import Callable
from urllib.parse import quote, quote_plus, unquote, unquote_plus, urlencode

#: What tokens are made of (URL-safe base64, the unreserved and base64 punctuation), plus a backslash and
#: a double quote, the two characters that JSON and ``repr`` escape.
TOKEN_ALPHABET = string.ascii_letters + string.digits + "-._~+/=\\\""


def _u_every(text: str) -> str:
    return "".join(f"\\u{ord(c):04x}" for c in text)


def _u_some(text: str) -> str:
    """Every other character ``\\u``-escaped (upper-case digits), the rest as JSON writes them."""
    return "".join(f"\\u{ord(c):04X}" if i % 2 else json.dumps(c)[1:-1] for i, c in enumerate(text))


def _b64(prefix: str, urlsafe: bool = False, padded: bool = True) -> Callable[[str], str]:
    def encode(token: str) -> str:
        data = (prefix + token).encode()
        text = (base64.urlsafe_b64encode(data) if urlsafe else base64.b64encode(data)).decode()
        return text if padded else text.rstrip("=")
    return encode


#: name -> the form of a token. The base64 prefixes put the token at each of the three byte alignments:
#: none (offset 0), ``Bearer `` (7 bytes, offset 1), Basic ``user:`` (5 bytes, offset 2).
FORMS: dict[str, Callable[[str], str]] = {
    "raw": lambda t: t,
    "url-encoded (quote)": quote,
    "url-encoded, nothing safe": lambda t: quote(t, safe=""),
    "url-encoded (quote_plus)": quote_plus,
    "url-encoded twice": lambda t: quote(quote(t, safe=""), safe=""),
    "form-encoded": lambda t: urlencode({"authorization": f"Bearer {t}"}),
    "JSON": json.dumps,
    "JSON with \\/": lambda t: json.dumps(t).replace("/", "\\/"),
    "JSON of a header": lambda t: json.dumps({"Authorization": f"Bearer {t}"}),
    "\\u-escaped, every character": _u_every,
    "\\u-escaped, some characters": _u_some,
    "repr": repr,
    "repr of JSON": lambda t: repr(json.dumps({"h": t})),
    "XML/HTML-escaped": lambda t: html.escape(t, quote=True),
    "upper-cased header": lambda t: f"AUTHORIZATION: BEARER {t.upper()}",
    "lower-cased": str.lower,
    **{f"base64 of {label!r}{', url-safe' if urlsafe else ''}{'' if padded else ', unpadded'}":
       _b64(prefix, urlsafe, padded)
       for label, prefix in (("<tok>", ""), ("Bearer <tok>", "Bearer "), ("user:<tok>", "user:"))
       for urlsafe in (False, True) for padded in (True, False)},
}

_ESCAPE = re.compile(r"\\(u[0-9a-fA-F]{4}|x[0-9a-fA-F]{2}|.)", re.S)
_BASE64_RUN = re.compile(r"[A-Za-z0-9+/\-_]+")


def _unescape(text: str) -> str:
    """One level of JSON / ``repr`` escapes undone, never raising."""
    return _ESCAPE.sub(lambda m: chr(int(m.group(1)[1:], 16)) if len(m.group(1)) > 1 else m.group(1), text)


def _base64_views(text: str) -> list[str]:
    views = []
    for run in _BASE64_RUN.findall(text.replace("\\/", "/")):
        for start in range(4):
            chunk = run[start:]
            chunk = chunk[:-1] if len(chunk) % 4 == 1 else chunk + "=" * (-len(chunk) % 4)
            for alphabet in (b"+/", b"-_"):
                with contextlib.suppress(ValueError):
                    views.append(base64.b64decode(chunk, altchars=alphabet).decode("latin-1"))
    return views


def views(text: str) -> list[str]:
    """``text`` decoded every way a form above encodes, one level or two; lower-cased."""
    once = [text, unquote(text), unquote_plus(text), unquote(unquote(text)), html.unescape(text), _unescape(text),
            _unescape(_unescape(text))]
    return [v.lower() for v in (*once, *_base64_views(text))]


def exposes(text: str, token: str) -> bool:
    """Whether ``text`` shows ``token`` in any form a reader could decode."""
    return any(token.lower() in view for view in views(text))

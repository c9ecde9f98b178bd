"""A user of the cloud: a token and a role. The token is a secret and is never shown."""
from __future__ import annotations

from typing import NoReturn

from pytest_cloudjob.redaction import MASK, register_secret


class User:
    """A regular user or an admin, known to the cloud by a bearer token.

    Building one registers the token with the redaction choke point, so it is masked in every error,
    log and report from then on. ``repr`` and ``str`` never show it.
    """

    __slots__ = ("name", "is_admin", "_token")

    def __init__(self, token: str, is_admin: bool = False, name: str = "") -> None:
        if not isinstance(token, str):
            raise TypeError("User(token=...) must be a string")
        register_secret(token)
        self._token = token
        self.is_admin = bool(is_admin)
        self.name = name or ("admin" if is_admin else "user")

    def get_token(self) -> str:
        """The bearer token, for the Authorization header only."""
        return self._token

    def __repr__(self) -> str:
        return f"User(name={self.name!r}, is_admin={self.is_admin}, token={MASK!r})"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, User) and (self._token, self.is_admin) == (other._token, other.is_admin)

    def __hash__(self) -> int:
        return hash((self._token, self.is_admin))

    def __reduce__(self) -> NoReturn:  # pragma: no cover - refuse to carry tokens through pickles by accident
        raise TypeError("User objects hold a secret and cannot be pickled")

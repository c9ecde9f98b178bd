"""The one exception root of pytest-cloudjob, so a user can write ``except pytest_cloudjob.CloudJobError``.

Kept in a module of its own that imports nothing, so the client, the scenarios, the plugin and the
reference cloud can all derive from it without importing each other (as requests' ``RequestException``).
"""
from __future__ import annotations


class CloudJobError(RuntimeError):
    """Base of every error this package raises on purpose.

    A :class:`RuntimeError`, because the seed API documents ``RuntimeError`` for every failed call.
    """

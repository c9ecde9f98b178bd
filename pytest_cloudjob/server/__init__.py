"""The embedded reference cloud: the server side of the protocol, on loopback, for tests and scenario work.

It imports nothing from the client; the two share only :mod:`pytest_cloudjob.protocol`, and it keeps the
promises of docs/protocol.md. This file stays empty of imports so that a pytest run, which only starts the
cloud as a subprocess (:mod:`pytest_cloudjob.server.process`), never loads starlette or the app: import
:mod:`pytest_cloudjob.server.app` or :mod:`pytest_cloudjob.server.platforms` for their names.
"""

"""``python -m pytest_cloudjob.server``: start a reference cloud by hand or from the plugin.

It binds loopback, takes a free port with ``--port 0``, and writes ``{"url", "tokens"}`` to
``--info-file`` once it accepts requests (atomically, so a reader never sees half a file).
SIGTERM and SIGINT stop it cleanly.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import signal
import socket
import sys
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

import uvicorn

from pytest_cloudjob.server.app import CloudConfig, Faults, create_app
from pytest_cloudjob.server.defects import DEFECTS, check_defects
from pytest_cloudjob.server.limits import BUDGET_EXCEEDED, SIMULATION_BUDGET
from pytest_cloudjob.server.openapi import openapi_document
from pytest_cloudjob.server.platforms import default_platforms

TOKEN_ENV = {"user": "CLOUDJOB_REF_USER_TOKEN", "other": "CLOUDJOB_REF_OTHER_TOKEN",
             "admin": "CLOUDJOB_REF_ADMIN_TOKEN"}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m pytest_cloudjob.server",
                                     description="Run the pytest-cloudjob reference cloud.")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="port to bind; 0 picks a free one (default)")
    parser.add_argument("--info-file", type=Path, help="write {url, tokens} here as JSON once serving")
    for name, env in TOKEN_ENV.items():
        parser.add_argument(f"--{name}-token", default=os.environ.get(env),
                            help=f"token of the '{name}' account (or ${env}; random by default)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the results (default 0)")
    parser.add_argument("--max-finished-jobs", type=int, default=10_000,
                        help="ended jobs kept; beyond it those that ended first are evicted, active jobs never "
                             "(default 10000)")
    parser.add_argument("--max-jobs-in-queue", type=int, default=1000,
                        help="what GET /api/jobs/availability advertises as each account's queue size (default 1000)")
    parser.add_argument("--run-time", action="append", default=[], metavar="PLATFORM=SECONDS",
                        help="how long jobs of PLATFORM run, e.g. sim:qa=0.5 (repeatable)")
    parser.add_argument("--simulation-budget", type=float, default=SIMULATION_BUDGET, metavar="SECONDS",
                        help=f"seconds of simulation a job may take, after which it ends in error with failure_code "
                             f"{BUDGET_EXCEEDED} (default {SIMULATION_BUDGET:g})")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added to every response")
    parser.add_argument("--read-503-rate", type=float, default=0.0,
                        help="fraction of reads (GET) answered 503 with Retry-After: 0 (never a third time in a row on a path)")
    parser.add_argument("--drop-rate", type=float, default=0.0,
                        help="fraction of reads (GET) whose connection is dropped mid-answer "
                             "(never a third fault in a row on a path)")
    parser.add_argument("--break", dest="defects", action="append", default=[], metavar="DEFECT",
                        help=f"break one promise on purpose, to prove a suite catches it (repeatable): "
                             f"{', '.join(DEFECTS)}")
    parser.add_argument("--tls-cert", type=Path, metavar="PEM",
                        help="serve HTTPS with this certificate (chain) file; needs --tls-key")
    parser.add_argument("--tls-key", type=Path, metavar="PEM", help="the private key of --tls-cert")
    parser.add_argument("--log-level", default="warning", help="uvicorn log level (default warning)")
    parser.add_argument("--exit-with-parent", action="store_true",
                        help="stop when the process that started this one dies, even by SIGKILL (the plugin sets it, "
                             "so a killed pytest run leaves no cloud behind)")
    parser.add_argument("--print-openapi", action="store_true",
                        help="print the protocol's OpenAPI document (what /openapi.json serves) and exit")
    args = parser.parse_args(argv)
    if args.print_openapi:
        print(json.dumps(openapi_document(), indent=1))
        parser.exit(0)
    try:
        args.defects = check_defects(args.defects)
    except ValueError as exc:
        parser.error(f"--break: {exc}")
    if (args.tls_cert is None) != (args.tls_key is None):
        parser.error("--tls-cert and --tls-key go together")
    for pem in (args.tls_cert, args.tls_key):
        if pem is not None and not pem.is_file():
            parser.error(f"--tls-cert/--tls-key: no such file: {pem}")
    for count in ("max_finished_jobs", "max_jobs_in_queue"):
        if getattr(args, count) < 1:
            parser.error(f"--{count.replace('_', '-')} must be at least 1")
    if not 0 < args.simulation_budget < float("inf"):
        parser.error("--simulation-budget must be a positive number of seconds")
    for rate in ("read_503_rate", "drop_rate"):
        if not 0.0 <= getattr(args, rate) <= 1.0:
            parser.error(f"--{rate.replace('_', '-')} must be between 0 and 1")
    return args


def run_times(pairs: list[str]) -> dict[str, float]:
    out: dict[str, float] = {}
    for pair in pairs:
        name, sep, seconds = pair.rpartition("=")
        try:
            out[name] = float(seconds)
        except ValueError:
            sep = ""
        if not sep or not name or out.get(name, -1) < 0:
            raise SystemExit(f"--run-time {pair!r}: expected PLATFORM=SECONDS, e.g. sim:qa=0.5")
    return out


def build_config(args: argparse.Namespace) -> CloudConfig:
    tokens = {name: getattr(args, f"{name}_token") or secrets.token_urlsafe(24) for name in TOKEN_ENV}
    if len(set(tokens.values())) != len(tokens):
        raise SystemExit("the user, other and admin tokens must differ")
    platforms = default_platforms(run_times(args.run_time))
    faults = Faults(latency=args.latency, read_503_rate=args.read_503_rate, drop_rate=args.drop_rate)
    return CloudConfig(tokens=tokens, platforms=platforms, seed=args.seed,
                       max_finished=args.max_finished_jobs, max_jobs_in_queue=args.max_jobs_in_queue,
                       faults=faults, defects=args.defects, simulation_budget=args.simulation_budget)


def write_info(path: Path, url: str, tokens: dict[str, str]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps({"url": url, "tokens": tokens, "pid": os.getpid()}))
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


async def serve(args: argparse.Namespace) -> None:
    config = build_config(args)
    sock = socket.socket(socket.AF_INET6 if ":" in args.host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind((args.host, args.port))
    port = sock.getsockname()[1]
    host = f"[{args.host}]" if ":" in args.host else args.host
    url = f"{'https' if args.tls_cert else 'http'}://{host}:{port}"
    app = create_app(config)
    server = uvicorn.Server(uvicorn.Config(app, log_level=args.log_level, access_log=False,
                                           lifespan="off", timeout_graceful_shutdown=2,
                                           # loopback only: no proxy in front, nobody to tell our name
                                           proxy_headers=False, server_header=False,
                                           ssl_certfile=args.tls_cert, ssl_keyfile=args.tls_key))

    async def announce() -> None:
        while not server.started:
            if server.should_exit:
                return
            await asyncio.sleep(0.01)
        if args.info_file:
            write_info(args.info_file, url, config.tokens)
        print(f"reference cloud serving on {url}", file=sys.stderr, flush=True)

    tasks = [asyncio.create_task(announce())]
    if args.exit_with_parent:
        tasks.append(asyncio.create_task(exit_with_parent(server, os.getppid())))
    try:
        await server.serve(sockets=[sock])
    finally:  # a simulating worker is killed, never waited for: the cloud stops within its 2 s of grace
        app.state.simulator.close()  # type: ignore[attr-defined]
        for task in tasks:
            task.cancel()


async def exit_with_parent(server: uvicorn.Server, parent: int, interval: float = 0.5) -> None:
    """Stop serving once ``parent`` is gone: an orphan is re-parented, so ``getppid`` changes.

    A SIGKILLed pytest (an OOM kill, a CI hard timeout) cannot stop its cloud; this way the cloud stops itself.
    """
    while not server.should_exit:
        if os.getppid() != parent:
            print("reference cloud: the process that started it is gone; stopping", file=sys.stderr, flush=True)
            server.should_exit = True
            return
        await asyncio.sleep(interval)


def _exit_cleanly(signum: int, frame: object) -> None:
    raise SystemExit(0)


def main(argv: list[str] | None = None) -> None:
    # uvicorn shuts down gracefully on SIGTERM/SIGINT, then re-raises the signal to the handler that
    # was there before it: make that handler a clean exit, so a stop by signal exits 0.
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, _exit_cleanly)
    args = parse_args(argv)
    code: int = 0
    try:
        run_event_loop(serve(args))
    except SystemExit as stop:
        if stop.code is not None and not isinstance(stop.code, int):
            print(stop.code, file=sys.stderr)  # what the interpreter would print of SystemExit("message")
        code = stop.code if isinstance(stop.code, int) else int(stop.code is not None)
    # Once it has stopped serving there is nothing left to save; the interpreter's own teardown of Perceval
    # and numpy alone takes a second or more on a busy machine, beyond the 2 s a SIGTERMed cloud has.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def run_event_loop(main_coroutine: Coroutine[Any, Any, None]) -> None:
    """Run on uvloop's event loop where it is installed (it cuts the server's time per request by about
    a third, docs/benchmarks.md), else on asyncio's own."""
    try:
        import uvloop
    except ImportError:
        asyncio.run(main_coroutine)
    else:
        uvloop.run(main_coroutine)


if __name__ == "__main__":
    main()

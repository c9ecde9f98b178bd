"""``python -m pytest_cloudjob.load [PATH...] [-m EXPR] [--cloud-arg ARG] [Locust's options]``.

The leading paths are scenario files or folders (default ``scenarios``), ``-m`` is pytest's mark
expression, ``--cloud-arg`` goes to the embedded reference cloud (e.g. ``--cloud-arg=--break=NAME``);
everything else is Locust's (``--headless``, ``--users``, ``--csv``, ``--html``, ``--master``,
``--processes``...) or the run's own (``--max-p95``, ``--alluredir``..., docs/load.md).
"""
from __future__ import annotations

import sys
from pathlib import Path

import locust  # noqa: F401  (first: gevent's monkey-patching comes before requests and threads)

from pytest_cloudjob.load.cloud import LoadTargetError, ensure_target

LOCUSTFILE = str(Path(__file__).with_name("locustfile.py"))


def translate(argv: list[str]) -> tuple[list[str], list[str]]:
    """Locust's command line for ``argv``, and the embedded cloud's arguments."""
    paths: list[str] = []
    while argv and not argv[0].startswith("-"):
        paths.append(argv.pop(0))
    out = ["-f", LOCUSTFILE, *(f"--cloud-scenarios={p}" for p in paths)]
    cloud_args: list[str] = []
    items = iter(argv)
    for arg in items:
        if arg == "-m":
            out += ["--cloud-mark", next(items, "")]
        elif arg.startswith("-m") and not arg.startswith("--"):
            out += ["--cloud-mark", arg[2:]]
        elif arg == "--cloud-arg":
            cloud_args.append(next(items, ""))
        elif arg.startswith("--cloud-arg="):
            cloud_args.append(arg.split("=", 1)[1])
        else:
            out.append(arg)
    return out, cloud_args


def main(argv: list[str] | None = None) -> int:
    args, cloud_args = translate(list(sys.argv[1:] if argv is None else argv))
    if "-h" not in args and "--help" not in args:
        try:
            ensure_target("--worker" in args, cloud_args)
        except LoadTargetError as exc:
            sys.stderr.write(f"pytest-cloudjob load: {exc}\n")
            return 2
    from locust.main import main as locust_main

    sys.argv = ["locust", *args]
    locust_main()  # type: ignore[no-untyped-call]  # exits with Locust's code (1 when a threshold failed)
    return 0


if __name__ == "__main__":
    sys.exit(main())

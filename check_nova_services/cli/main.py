"""Command line -> settings -> check, with exit-code discipline: only 0-3, never a traceback, never argparse's 2."""

from __future__ import annotations

import logging
import os
import sys
import time
import warnings
from collections.abc import Sequence
from functools import partial
from typing import NoReturn

from check_nova_services.cli.options import (
    UNKNOWN,
    build_parser,
    refuse_conflicts,
)
from check_nova_services.shared.errors import UsageError


def unknown(message: str, secrets: Sequence[str] = ()) -> NoReturn:
    """The one way this plugin gives up: a single safe line on stdout and exit 3.

    The message may quote the command line or a file: URL passwords and known secrets are
    masked, and ``|`` or line breaks cannot fake perfdata or a second status line."""
    from check_nova_services import CHECK_NAME

    print(f"{CHECK_NAME} UNKNOWN - {masked(message, secrets)}")
    sys.exit(UNKNOWN)


def masked(message: str, secrets: Sequence[str]) -> str:
    """One safe line: URL passwords and known secrets masked, no ``|`` or line break to fake perfdata or a status."""
    from check_nova_services.shared.redaction import redact
    from check_nova_services.shared.text import safe

    return safe(redact(message, [s for s in secrets if s]), 500)


def main(argv: list[str] | None = None) -> NoReturn:
    started = time.monotonic()
    _escape_what_cannot_be_encoded()
    # Icinga shows stderr in the check result: nothing may go there in a normal run.
    warnings.simplefilter("ignore")
    logging.getLogger().addHandler(logging.NullHandler())
    secrets: list[str] = [os.environ.get("NOVA_SERVICES_DB_PASSWORD", "")]
    give_up = unknown
    try:
        import nagiosplugin

        from check_nova_services.shared.errors import ConfigError, ReadError

        try:
            args = build_parser().parse_args(argv)
            refuse_conflicts(args)
            from check_nova_services.cli.run import run_check, run_list, run_metrics

            if args.list:
                give_up = partial(_list_failure, args.format)
                sys.exit(run_list(args, started, secrets))
            if args.format == "openmetrics" or args.textfile is not None:
                sys.exit(run_metrics(args, started, secrets))
            run_check(args, started, secrets)
        except (UsageError, ConfigError, ReadError) as exc:
            give_up(str(exc).splitlines()[0], secrets)
        except nagiosplugin.Timeout as exc:
            from check_nova_services.cli.run import timed_out

            give_up(timed_out(exc), secrets)
    except SystemExit:
        raise
    except BrokenPipeError:
        closed_pipe()
    except KeyboardInterrupt:
        give_up("interrupted", secrets)
    except BaseException as exc:  # noqa: BLE001 - a monitoring check must never die with a traceback
        give_up(f"internal error: {type(exc).__name__}: {exc}".splitlines()[0], secrets)
    sys.exit(UNKNOWN)


def _escape_what_cannot_be_encoded() -> None:
    """A legacy 8-bit locale must not turn a Unicode host name into a crash: escape what cannot be encoded."""
    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="backslashreplace")


def closed_pipe() -> NoReturn:
    """The reader went away (``--list | head``, ``-vv | less`` then ``q``): end quietly, as a Unix tool does, by
    SIGPIPE. Only once the reading is over: with SIGPIPE at its default a dropped database socket would kill too."""
    import signal

    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())  # what is still buffered goes nowhere, not into a second error at exit
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    os.kill(os.getpid(), signal.SIGPIPE)
    sys.exit(128 + signal.SIGPIPE)  # where the signal cannot end the process


def _list_failure(output_format: str, message: str, secrets: Sequence[str] = ()) -> NoReturn:
    """--list could list nothing: why, on stderr (text) or as the JSON's only error; exit 3."""
    import json

    reason = masked(message, secrets)
    if output_format == "json":
        print(json.dumps({"services": [], "errors": [{"cell": None, "cell_uuid": None, "error": reason}]}, indent=2))
    else:
        print(f"check_nova_services: {reason}", file=sys.stderr)
    sys.exit(UNKNOWN)

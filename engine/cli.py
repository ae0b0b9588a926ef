"""The `footfall` command: one console script, one subcommand per job.

Each subcommand lives in its own module with `register(subparsers)`, which adds its parser and sets `run` to a
function taking the parsed arguments and returning an exit code.

Exit codes: 0 success; 1 bad input or a failed run (one line on stderr names the file and the problem);
2 bad command line; 130 cancelled (Ctrl-C), 143 terminated (SIGTERM): outputs valid up to that moment, under their
partial names (the message names them).
"""
from __future__ import annotations

import argparse
import importlib
import signal
import sys

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_CANCELLED, EXIT_TERMINATED = 0, 1, 2, 130, 143


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised in the main thread so that a run stops the way Ctrl-C stops it."""


def _terminate(signum, frame) -> None:
    raise Terminated()


def install_signal_handlers() -> None:
    """SIGTERM stops a run like Ctrl-C; a file-size limit (SIGXFSZ) becomes a write error instead of killing the
    process, so the failing output is named and the others are finished."""
    signal.signal(signal.SIGTERM, _terminate)
    if hasattr(signal, "SIGXFSZ"):
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)

COMMAND_MODULES = (
    "footfall.engine.commands.render",
    "footfall.engine.commands.live",
    "footfall.engine.commands.scene",
    "footfall.engine.commands.devices",
    "footfall.engine.commands.demo",
    "footfall.engine.evaluation.command",
    "footfall.bank.commands",
    "footfall.engine.commands.bench",
    "footfall.engine.commands.serve",
    "footfall.engine.commands.play_bvh",
)


def _whole_number(text: str, least: int, limit: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got '{text}'") from None
    if value < least:
        raise argparse.ArgumentTypeError(f"{limit}, got {value}")
    return value


def positive_int(text: str) -> int:
    """An argparse type for counts such as --people: a whole number of at least 1, else a usage error."""
    return _whole_number(text, 1, "must be at least 1")


def non_negative_int(text: str) -> int:
    """An argparse type for intervals where 0 means never (e.g. --checkpoint-every): a whole number, at least 0."""
    return _whole_number(text, 0, "must not be negative")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="footfall",
        description="Footstep Foley for picture: finds every foot that lands in a video or pose stream and plays a "
        "matching footstep in sync.",
        epilog="Exit codes: 0 ok, 1 bad input or failed run, 2 usage error, 130 cancelled (Ctrl-C), 143 terminated "
        "(SIGTERM).",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    install_signal_handlers()
    try:
        args = build_parser().parse_args(argv)
        return int(args.run(args))
    except KeyboardInterrupt as stop:
        note = str(stop.args[0]) if stop.args else ""
        if isinstance(stop, Terminated):
            print(f"footfall: terminated{note}", file=sys.stderr)
            return EXIT_TERMINATED
        print(f"footfall: cancelled{note}", file=sys.stderr)
        return EXIT_CANCELLED


if __name__ == "__main__":
    sys.exit(main())

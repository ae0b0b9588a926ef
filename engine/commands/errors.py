"""The errors a command reports as one line (no traceback), and how."""
from __future__ import annotations

import sys

from footfall.bank.format import BankError
from footfall.engine.config import ConfigError
from footfall.engine.graph.supervisor import StageFailed
from footfall.engine.pose.pool import PoseWorkerError
from footfall.sinks.errors import SinkError
from footfall.sources.errors import SourceError

EXPECTED_ERRORS = (SourceError, SinkError, BankError, ConfigError, StageFailed, PoseWorkerError)


def report(exc: BaseException) -> int:
    """Prints `footfall: <file>: <problem>` on stderr and returns the failure exit code."""
    message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if isinstance(exc, StageFailed) and not isinstance(exc.error, EXPECTED_ERRORS):
        message = f"{exc.stage} stage failed: {type(exc.error).__name__}: {message}"
    print(f"footfall: {message}", file=sys.stderr)
    return 1

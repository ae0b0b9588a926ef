"""What the commands share: the errors reported as one line (no traceback), settings, the summary line."""
from __future__ import annotations

import sys
from pathlib import Path

from footfall.bank.format import BankError
from footfall.engine.config import ConfigError
from footfall.engine.graph.supervisor import StageFailed
from footfall.engine.pose.pool import PoseWorkerError
from footfall.sinks.errors import SinkError
from footfall.sources.errors import SourceError

EXPECTED_ERRORS = (SourceError, SinkError, BankError, ConfigError, StageFailed, PoseWorkerError)


def report(exc: BaseException, note: str = "") -> int:
    """Prints `footfall: <file>: <problem><note>` on stderr and returns the failure exit code."""
    message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if isinstance(exc, StageFailed) and not isinstance(exc.error, EXPECTED_ERRORS):
        message = f"{exc.stage} stage failed: {type(exc.error).__name__}: {message}"
    print(f"footfall: {message}{note}", file=sys.stderr)
    return 1


def load_settings(config_file: Path | None, preset: str = "render", render_overrides: dict | None = None,
                  mode: str | None = None):
    """The render preset with the user's TOML laid over it, then command-line overrides."""
    from footfall.engine.config import load
    from footfall.engine.render import RenderSettings

    table = load(preset, config_file)
    table.setdefault("render", {}).update({k: v for k, v in (render_overrides or {}).items() if v is not None})
    if mode:
        table.setdefault("steps", {})["mode"] = mode
    return RenderSettings.from_config(table, str(config_file) if config_file else f"{preset} preset")


def summary_line(summary, output: Path) -> str:
    damaged = summary.damaged
    return (f"{summary.steps} steps  {summary.media_s:.2f} s of media in {summary.wall_s:.2f} s  "
            f"({summary.speed:.2f}x real time)  -> {output}"
            + (f"  ({damaged} damaged packets or frames could not be decoded and were skipped)" if damaged else "")
            + (scenes_line(summary) if summary.scenes is not None else ""))


def scenes_line(summary) -> str:
    """`--scenes`: cuts, scene changes (to which surface) and bank swaps, on the summary line."""
    log = summary.scenes
    changes = ", ".join(f"{c.t_ns / 1e9:.2f} s {c.surface}" for c in log.changes) or "none"
    return (f"\n  scenes: {len(log.cuts)} cuts, {len(log.changes)} scene changes ({changes}), "
            f"{len(summary.bank_swaps)} bank swaps")


def add_scene_arguments(p) -> None:
    """--scenes and --clip-model, as render and live take them."""
    p.add_argument("--scenes", nargs="?", const="", metavar="BANKS_DIR",
                   help="follow the picture's scene changes (cuts, CLIP surface and footwear labels): the surface "
                   "changes with each scene, and with BANKS_DIR (a folder of bank directories) the bank for the new "
                   "surface is swapped in (see [scene] and [refresh] in config/default.toml)")
    p.add_argument("--clip-model", metavar="PATH_OR_NAME", help="open_clip model for --scenes: a folder, a "
                   ".safetensors file, hf-hub:ORG/REPO or ARCH:TAG (default: [scene] clip_model)")


"""Where footfall keeps what it computes once and reuses: synthesised banks, pose caches, built model bundles."""
from __future__ import annotations

import os
from pathlib import Path


def cache_root() -> Path:
    """$FOOTFALL_CACHE, else $XDG_CACHE_HOME/footfall, else ~/.cache/footfall."""
    if os.environ.get("FOOTFALL_CACHE"):
        return Path(os.environ["FOOTFALL_CACHE"])
    if os.environ.get("XDG_CACHE_HOME"):
        return Path(os.environ["XDG_CACHE_HOME"]) / "footfall"
    return Path.home() / ".cache" / "footfall"

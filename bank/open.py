"""One entry point to get a bank from what a user typed: nothing, a bank directory or a folder of recordings."""
from __future__ import annotations

from pathlib import Path

from footfall.bank.format import MANIFEST_NAME, BankError, load_bank
from footfall.bank.sample_bank import Bank


def open_bank(spec: str | Path | None) -> Bank:
    """None or "default": the cached procedural bank; a directory with manifest.json: that bank; any other
    directory: the recordings in it (`folder.load_folder`)."""
    if spec is None or str(spec) in ("", "default"):
        from footfall.bank.cache import default_bank

        return default_bank()
    path = Path(spec)
    if not path.exists():
        raise BankError(f"{path}: no such bank directory")
    if not path.is_dir():
        raise BankError(f"{path}: a bank is a directory (manifest.json + audio/, or <surface>/<footwear>/*.wav)")
    if (path / MANIFEST_NAME).is_file():
        return load_bank(path)
    from footfall.bank.folder import load_folder

    return load_folder(path)

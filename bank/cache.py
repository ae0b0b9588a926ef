"""The default bank, rendered once and kept on disk.

Rendering the procedural bank takes seconds; loading it from disk takes a fraction of one. The cache key is a hash
of the parameters, the synthesiser version and source, the manifest version and the recipes in config/surfaces.toml,
so any change renders a fresh bank. Two processes may render at the same time: each writes into its own temporary
directory and renames it into place; the loser discards its copy and loads the winner's.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import shutil
import tempfile
from importlib import resources
from pathlib import Path

from footfall.bank.format import MANIFEST_NAME, MANIFEST_VERSION, BankError, load_bank, write_bank_files
from footfall.bank import procedural
from footfall.bank.procedural import SYNTH_VERSION, ProceduralParams, build_procedural_bank
from footfall.bank.sample_bank import Bank
from footfall.engine.cache_dir import cache_root


def cache_key(params: ProceduralParams) -> str:
    recipes = resources.files("footfall.config").joinpath("surfaces.toml").read_text()
    synth_source = Path(procedural.__file__).read_bytes()  # an edit the version bump forgot still renders afresh
    blob = json.dumps(
        {
            "params": dataclasses.asdict(params),
            "synth": SYNTH_VERSION,
            "synth_source": hashlib.sha256(synth_source).hexdigest(),
            "manifest": MANIFEST_VERSION,
            "recipes": hashlib.sha256(recipes.encode()).hexdigest(),
        },
        sort_keys=True,
    )
    return hashlib.sha256(blob.encode()).hexdigest()[:20]


def default_bank(params: ProceduralParams | None = None, cache_dir: Path | None = None) -> Bank:
    """The procedural bank for `params`, from cache_dir/banks/<key> (rendered there first if missing)."""
    params = params or ProceduralParams()
    banks = Path(cache_dir) if cache_dir is not None else cache_root()
    banks = banks / "banks"
    final = banks / cache_key(params)
    if (final / MANIFEST_NAME).is_file():
        try:
            return load_bank(final)
        except BankError:
            _discard(final, banks)  # a damaged cache entry: render it again
    bank = build_procedural_bank(params)
    banks.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".render-", dir=banks))
    try:
        write_bank_files(bank, tmp)
        try:
            os.rename(tmp, final)
        except OSError:
            if not (final / MANIFEST_NAME).is_file():
                raise
            return load_bank(final)  # another process finished first
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return bank


def _discard(directory: Path, banks: Path) -> None:
    trash = Path(tempfile.mkdtemp(prefix=".discard-", dir=banks))
    try:
        os.rename(directory, trash / "bank")
    except OSError:
        pass
    shutil.rmtree(trash, ignore_errors=True)

"""The default bank, rendered once and kept on disk.

Rendering the procedural bank takes seconds; loading it from disk takes a fraction of one. The cache key is a hash
of the parameters, the synthesiser version and source, the manifest version and the recipes in config/surfaces.toml,
so any change renders a fresh bank. Two processes may render at the same time: each writes into its own temporary
directory and renames it into place; the loser discards its copy and loads the winner's.

Beside the bank's own files the cache keeps all its audio in one float32 file (`packed.npy`) that a render maps
instead of reading: the 2940 samples (167 MB) cost 0.66 s of CPU to read and pack into one array, the mapped file a
few milliseconds, and only the pages the voices play are ever read.
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

import numpy as np

from footfall.bank.format import MANIFEST_NAME, MANIFEST_VERSION, BankError, load_bank, read_manifest, write_bank_files
from footfall.bank import procedural
from footfall.bank.procedural import SYNTH_VERSION, ProceduralParams, build_procedural_bank
from footfall.bank.sample_bank import Bank
from footfall.engine.cache_dir import cache_root

PACKED_NAME = "packed.npy"


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
            return load_cached(final)
        except BankError:
            _discard(final, banks)  # a damaged cache entry: render it again
    bank = build_procedural_bank(params)
    banks.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".render-", dir=banks))
    try:
        write_bank_files(bank, tmp)
        np.save(tmp / PACKED_NAME, bank.audio)
        try:
            os.rename(tmp, final)
        except OSError:
            if not (final / MANIFEST_NAME).is_file():
                raise
            return load_cached(final)  # another process finished first
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return bank


def load_cached(directory: Path) -> Bank:
    """A cached bank: its manifest, with the audio mapped from `packed.npy` (written with it); a cache entry from
    before the packed file is loaded from its own files and packed now, for the next run."""
    packed = directory / PACKED_NAME
    if not packed.is_file():
        bank = load_bank(directory)
        _write_packed(bank, directory)
        return bank
    sample_rate, name, samples = read_manifest(directory)
    try:
        audio = np.asarray(np.load(packed, mmap_mode="c"))  # copy-on-write: writable, the kernels' usual type
    except (OSError, ValueError) as exc:
        raise BankError(f"{packed}: unreadable ({exc})") from None
    lengths = [s.length for s in samples]
    if audio.dtype != np.float32 or audio.ndim != 1 or None in lengths or sum(lengths) != audio.shape[0]:
        raise BankError(f"{packed}: does not hold the manifest's samples")
    offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)
    entries = tuple(s.entry for s in samples)
    return Bank(sample_rate, audio, offsets, np.array(lengths, dtype=np.int64),
                np.array([e.onset for e in entries], dtype=np.int64), entries, name)


def _write_packed(bank: Bank, directory: Path) -> None:
    fd, tmp = tempfile.mkstemp(prefix=".packed-", suffix=".npy", dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            np.save(f, bank.audio)
        os.replace(tmp, directory / PACKED_NAME)
    except OSError:
        Path(tmp).unlink(missing_ok=True)  # a read-only cache still works, only slower


def _discard(directory: Path, banks: Path) -> None:
    trash = Path(tempfile.mkdtemp(prefix=".discard-", dir=banks))
    try:
        os.rename(directory, trash / "bank")
    except OSError:
        pass
    shutil.rmtree(trash, ignore_errors=True)

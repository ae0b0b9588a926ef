"""The on-disk bank format: DIR/manifest.json plus DIR/audio/<id>.wav. See bank/FORMAT.md.

Samples are written as 48 kHz mono 32-bit float WAV so a bank round-trips exactly; 16/24/32-bit PCM and 64-bit
float WAV files are read too, so a bank can be assembled by hand or by other tools. WAV is read and written with a
small RIFF codec here (no decoder start-up per file), which keeps loading a bank of a couple of thousand samples
well under a second.
"""
from __future__ import annotations

import json
import os
import shutil
import struct
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from footfall.bank.sample_bank import GAITS, Bank, BankEntry

MANIFEST_VERSION = 1
MANIFEST_NAME = "manifest.json"
FORMAT_NAME = "footfall-bank"
AUDIO_DIR = "audio"
SAMPLE_RATE = 48000

_WAVE_PCM, _WAVE_FLOAT, _WAVE_EXTENSIBLE = 1, 3, 0xFFFE


class BankError(ValueError):
    """A bank or recording cannot be used; the message is one line naming the file and the problem."""


# ---------------------------------------------------------------------------------------------------------- WAV


def write_wav(path: Path, audio: np.ndarray, sample_rate: int) -> None:
    """Mono 32-bit IEEE float WAV (fmt with cbSize 0, fact chunk, data)."""
    data = np.ascontiguousarray(audio, dtype="<f4").tobytes()
    n = len(audio)
    fmt = struct.pack("<HHIIHHH", _WAVE_FLOAT, 1, sample_rate, sample_rate * 4, 4, 32, 0)
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt
    body += b"fact" + struct.pack("<II", 4, n) + b"data" + struct.pack("<I", len(data)) + data
    with open(path, "wb") as f:
        f.write(b"RIFF" + struct.pack("<I", len(body)) + body)


def read_wav(path: Path) -> tuple[np.ndarray, int]:
    """(mono float32 audio, sample rate) from a PCM 16/24/32-bit or float 32/64-bit WAV; channels are averaged.

    A mono float32 file comes back as a read-only view of the bytes read, not a copy: a bank is mostly such files, and
    each copy of a 100 MB bank costs a fresh 100 MB of memory to fault in (about 0.1 s)."""
    try:
        raw = memoryview(Path(path).read_bytes())
    except OSError as exc:
        raise BankError(f"{path}: cannot read ({exc.strerror or exc})") from None
    if len(raw) < 12 or raw[:4] != b"RIFF" or raw[8:12] != b"WAVE":
        raise BankError(f"{path}: not a RIFF/WAVE file")
    pos, fmt, data = 12, None, None
    while pos + 8 <= len(raw):
        cid, size = raw[pos : pos + 4], struct.unpack("<I", raw[pos + 4 : pos + 8])[0]
        body = raw[pos + 8 : pos + 8 + size]
        if cid == b"fmt ":
            fmt = body
        elif cid == b"data":
            data = body
        pos += 8 + size + (size & 1)
    if fmt is None or len(fmt) < 16 or data is None:
        raise BankError(f"{path}: WAV without fmt or data chunk")
    tag, channels, rate, _, block, bits = struct.unpack("<HHIIHH", fmt[:16])
    if tag == _WAVE_EXTENSIBLE and len(fmt) >= 26:
        tag = struct.unpack("<H", fmt[24:26])[0]
    if channels < 1 or block != channels * bits // 8:
        raise BankError(f"{path}: inconsistent WAV header ({channels} channels, {bits} bits, block {block})")
    usable = len(data) - len(data) % block
    if tag == _WAVE_FLOAT and bits in (32, 64):
        x = np.frombuffer(data[:usable], dtype="<f4" if bits == 32 else "<f8").astype(np.float32, copy=False)
    elif tag == _WAVE_PCM and bits == 16:
        x = np.frombuffer(data[:usable], dtype="<i2").astype(np.float32) / 32768.0
    elif tag == _WAVE_PCM and bits == 32:
        x = (np.frombuffer(data[:usable], dtype="<i4").astype(np.float64) / 2147483648.0).astype(np.float32)
    elif tag == _WAVE_PCM and bits == 24:
        b = np.frombuffer(data[:usable], dtype=np.uint8).reshape(-1, 3).astype(np.int32)
        v = b[:, 0] | (b[:, 1] << 8) | (b[:, 2] << 16)
        x = (np.where(v >= 1 << 23, v - (1 << 24), v) / 8388608.0).astype(np.float32)
    else:
        raise BankError(f"{path}: unsupported WAV encoding (format tag {tag}, {bits} bits)")
    if channels > 1:
        x = x.reshape(-1, channels).mean(axis=1).astype(np.float32)
    return x, rate


# ----------------------------------------------------------------------------------------------------- manifest


def _gait(rec: dict, where: str) -> str:
    gait = _field(rec, "gait", str, where) if "gait" in rec else "any"
    if gait not in GAITS:
        raise BankError(f"{where}: gait {gait!r} is not one of {', '.join(GAITS)}")
    return gait


def _entry_record(e: BankEntry, length: int) -> dict:
    return {
        "id": e.id,
        "file": f"{AUDIO_DIR}/{e.id}.wav",
        "surface": e.surface,
        "footwear": e.footwear,
        "intensity": e.intensity,
        "variation": e.variation,
        "gait": e.gait,
        "onset": e.onset,
        "length": length,
        "provenance": e.provenance,
    }


def write_bank_files(bank: Bank, directory: Path) -> None:
    """Write the manifest and audio into `directory` (created, must not hold a bank yet). Not atomic."""
    directory = Path(directory)
    (directory / AUDIO_DIR).mkdir(parents=True, exist_ok=True)
    ids = [e.id for e in bank.entries]
    if len(set(ids)) != len(ids):
        raise BankError(f"{directory}: duplicate sample ids in bank")
    for i, e in enumerate(bank.entries):
        if not e.id or "/" in e.id or "\\" in e.id or e.id.startswith("."):
            raise BankError(f"{directory}: sample id {e.id!r} is not usable as a file name")
        write_wav(directory / AUDIO_DIR / f"{e.id}.wav", bank.clip(i), bank.sample_rate)
    manifest = {
        "format": FORMAT_NAME,
        "version": MANIFEST_VERSION,
        "name": bank.name,
        "sample_rate": bank.sample_rate,
        "samples": [_entry_record(e, int(n)) for e, n in zip(bank.entries, bank.lengths)],
    }
    (directory / MANIFEST_NAME).write_text(json.dumps(manifest, indent=1) + "\n")


def save_bank(bank: Bank, directory: Path) -> None:
    """Write a bank to `directory`: rendered into a temporary sibling, then renamed into place.

    An existing bank at `directory` is replaced; an existing non-empty directory that is not a bank is refused.
    """
    directory = Path(directory)
    if directory.exists():
        if not directory.is_dir():
            raise BankError(f"{directory}: exists and is not a directory")
        if any(directory.iterdir()) and not (directory / MANIFEST_NAME).is_file():
            raise BankError(f"{directory}: exists, is not empty and holds no bank; refusing to overwrite")
    directory.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{directory.name}.", suffix=".tmp", dir=directory.parent))
    try:
        write_bank_files(bank, tmp)
        if directory.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{directory.name}.", suffix=".old", dir=directory.parent))
            os.rename(directory, old / "bank")
            os.rename(tmp, directory)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.rename(tmp, directory)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def _field(record: dict, key: str, kind: type | tuple[type, ...], where: str):
    if key not in record:
        raise BankError(f"{where}: missing '{key}'")
    value = record[key]
    if not isinstance(value, kind) or isinstance(value, bool):
        raise BankError(f"{where}: '{key}' has the wrong type ({type(value).__name__})")
    return value


@dataclass(frozen=True)
class ManifestSample:
    """One sample as the manifest describes it: its entry, its audio file, and its length when the manifest gives it."""

    entry: BankEntry
    path: Path
    length: int | None


def read_manifest(directory: Path) -> tuple[int, str, list[ManifestSample]]:
    """(sample rate, name, samples) from a bank directory's manifest, every field checked; the audio is not read.
    Every problem is a one-line BankError naming the file."""
    directory = Path(directory)
    mpath = directory / MANIFEST_NAME
    try:
        manifest = json.loads(mpath.read_text())
    except FileNotFoundError:
        raise BankError(f"{mpath}: no manifest (not a bank directory)") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BankError(f"{mpath}: unreadable manifest ({str(exc).splitlines()[0]})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT_NAME:
        raise BankError(f"{mpath}: not a {FORMAT_NAME} manifest")
    version = manifest.get("version")
    if version != MANIFEST_VERSION:
        raise BankError(f"{mpath}: manifest version {version!r} not supported (this build reads {MANIFEST_VERSION})")
    sample_rate = _field(manifest, "sample_rate", int, str(mpath))
    records = _field(manifest, "samples", list, str(mpath))
    samples, seen = [], set()
    for k, rec in enumerate(records):
        where = f"{mpath}: samples[{k}]"
        if not isinstance(rec, dict):
            raise BankError(f"{where}: not an object")
        sid = _field(rec, "id", str, where)
        if sid in seen:
            raise BankError(f"{where}: duplicate id {sid!r}")
        seen.add(sid)
        rel = _field(rec, "file", str, where)
        if rel.startswith(("/", "\\")) or ".." in rel.replace("\\", "/").split("/"):
            raise BankError(f"{where}: file {rel!r} lies outside the bank directory")
        length = rec.get("length")
        if length is not None and (not isinstance(length, int) or isinstance(length, bool) or length < 1):
            raise BankError(f"{where}: 'length' must be a positive whole number")
        onset = _field(rec, "onset", int, where)
        if onset < 0 or (length is not None and onset >= length):
            raise BankError(f"{where}: onset {onset} outside the sample (0..{(length or 1) - 1})")
        intensity = float(_field(rec, "intensity", (int, float), where))
        if not 0.0 < intensity <= 1.0:
            raise BankError(f"{where}: intensity {intensity} outside (0, 1]")
        entry = BankEntry(
            id=sid,
            surface=_field(rec, "surface", str, where),
            footwear=_field(rec, "footwear", str, where),
            intensity=intensity,
            onset=onset,
            provenance=str(rec.get("provenance", "")),
            variation=int(_field(rec, "variation", int, where)) if "variation" in rec else 0,
            gait=_gait(rec, where),
        )
        samples.append(ManifestSample(entry, directory / rel, length))
    if not samples:
        raise BankError(f"{mpath}: bank has no samples")
    return sample_rate, str(manifest.get("name") or directory.name), samples


def load_bank(directory: Path) -> Bank:
    """Read and validate a bank directory. Every problem is a one-line BankError naming the file."""
    sample_rate, name, samples = read_manifest(directory)
    clips = []
    for sample in samples:
        fpath, sid = sample.path, sample.entry.id
        if not fpath.is_file():
            raise BankError(f"{fpath}: missing audio file (listed in {MANIFEST_NAME} as {sid!r})")
        audio, rate = read_wav(fpath)
        if rate != sample_rate:
            raise BankError(f"{fpath}: sample rate {rate} Hz, manifest says {sample_rate} Hz")
        if audio.size == 0:
            raise BankError(f"{fpath}: empty audio")
        if not np.all(np.isfinite(audio)):
            raise BankError(f"{fpath}: audio contains NaN or infinite values")
        if sample.length is not None and sample.length != audio.size:
            raise BankError(f"{fpath}: {audio.size} samples, manifest says {sample.length}")
        if sample.entry.onset >= audio.size:
            raise BankError(f"{fpath}: onset {sample.entry.onset} outside the sample (0..{audio.size - 1})")
        clips.append(audio)
    return Bank.from_clips(sample_rate, clips, [s.entry for s in samples], name=name)

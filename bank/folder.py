"""A bank from a folder of the user's own recordings.

Recordings come in any level, with silence or handling noise before the step and any length after it. Each one is
decoded to 48 kHz mono, its onset found on a smoothed energy envelope, trimmed to a few milliseconds before the
onset, faded at both ends and normalised to one loudness, so user samples sit beside the procedural ones.

Layout: `<surface>/<footwear>/*.(wav|flac|ogg|mp3|...)`, or a `manifest.json` in the bank format (then the files are
taken as they are, see `format.load_bank`). Intensity is read from an optional third level
(`<surface>/<footwear>/<intensity>/*.wav`, e.g. `0.3`) and defaults to 1.0.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np

from footfall.bank.conditioning import find_onset, shape_sample
from footfall.bank.format import BankError
from footfall.bank.sample_bank import Bank, BankEntry

AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".oga", ".mp3", ".m4a", ".aif", ".aiff", ".opus")


@dataclass(frozen=True)
class FolderParams:
    """How user recordings are conditioned.

    target_rms_dbfs: RMS over the active part of each sample (see `compare.active_rms_dbfs`).
    onset_threshold_db: the onset is the first envelope frame above (noise floor + this), refined to the sample.
    """

    sample_rate: int = 48000
    target_rms_dbfs: float = -20.0
    max_peak_dbfs: float = -1.0
    pre_onset_ms: float = 5.0
    fade_in_ms: float = 2.0
    fade_out_ms: float = 30.0
    max_length_s: float = 2.0
    onset_threshold_db: float = 15.0
    envelope_ms: float = 1.0
    min_peak_dbfs: float = -70.0

    def __post_init__(self) -> None:
        if self.sample_rate <= 0:
            raise ValueError("sample_rate must be positive")
        if min(self.pre_onset_ms, self.fade_in_ms, self.fade_out_ms) < 0 or self.max_length_s <= 0:
            raise ValueError("times must be non-negative and max_length_s positive")
        if self.fade_in_ms > self.pre_onset_ms + 1e-9 and self.pre_onset_ms > 0:
            raise ValueError("fade_in_ms must not exceed pre_onset_ms (the fade would soften the onset)")


def read_audio(path: Path, sample_rate: int) -> np.ndarray:
    """Any file PyAV can decode, as mono float32 at `sample_rate`. Raises BankError naming the file."""
    try:
        with av.open(str(path)) as container:
            if not container.streams.audio:
                raise BankError(f"{path}: no audio stream")
            stream = container.streams.audio[0]
            resampler = av.AudioResampler(format="flt", layout="mono", rate=sample_rate)
            chunks = []
            for frame in container.decode(stream):
                chunks.extend(f.to_ndarray().reshape(-1) for f in resampler.resample(frame))
            chunks.extend(f.to_ndarray().reshape(-1) for f in resampler.resample(None))
    except BankError:
        raise
    except (av.error.FFmpegError, OSError, ValueError) as exc:
        raise BankError(f"{path}: cannot decode audio ({str(exc).splitlines()[0] if str(exc) else type(exc).__name__})") from None
    audio = np.concatenate(chunks).astype(np.float32) if chunks else np.zeros(0, np.float32)
    if audio.size == 0:
        raise BankError(f"{path}: no audio samples")
    if not np.all(np.isfinite(audio)):
        raise BankError(f"{path}: audio contains NaN or infinite values")
    return audio


def condition(audio: np.ndarray, params: FolderParams, where: str) -> tuple[np.ndarray, int]:
    """Trim, fade and normalise one recording; returns (sample, onset within it)."""
    sr = params.sample_rate
    peak = float(np.max(np.abs(audio))) if audio.size else 0.0
    if peak <= 10 ** (params.min_peak_dbfs / 20.0):
        raise BankError(f"{where}: silent (peak below {params.min_peak_dbfs:.0f} dBFS)")
    onset = find_onset(audio, sr, params.onset_threshold_db, params.envelope_ms)
    start = max(0, onset - int(round(params.pre_onset_ms * 1e-3 * sr)))
    stop = min(audio.size, start + int(round(params.max_length_s * sr)))
    return shape_sample(audio, onset, stop, sr, params.pre_onset_ms, params.fade_in_ms, params.fade_out_ms,
                        params.target_rms_dbfs, params.max_peak_dbfs)


def _intensity_of(name: str) -> float | None:
    try:
        value = float(name)
    except ValueError:
        return None
    return value if 0.0 < value <= 1.0 else None


def list_recordings(directory: Path) -> list[tuple[str, str, float, Path]]:
    """(surface, footwear, intensity, path) of every audio file under `<surface>/<footwear>/`, in sorted order."""
    found = []
    for surface_dir in sorted(p for p in directory.iterdir() if p.is_dir() and not p.name.startswith(".")):
        for footwear_dir in sorted(p for p in surface_dir.iterdir() if p.is_dir() and not p.name.startswith(".")):
            for path in sorted(footwear_dir.rglob("*")):
                if not path.is_file() or path.suffix.lower() not in AUDIO_SUFFIXES or path.name.startswith("."):
                    continue
                rel = path.relative_to(footwear_dir).parts
                intensity = _intensity_of(rel[0]) if len(rel) > 1 else None
                found.append((surface_dir.name.lower(), footwear_dir.name.lower(), intensity or 1.0, path))
    return found


def load_folder(directory: Path, params: FolderParams | None = None) -> Bank:
    """All recordings under `directory`, conditioned into one bank. BankError names the first bad file."""
    from footfall.bank.format import MANIFEST_NAME, load_bank

    params = params or FolderParams()
    directory = Path(directory)
    if not directory.is_dir():
        raise BankError(f"{directory}: not a directory")
    if (directory / MANIFEST_NAME).is_file():
        return load_bank(directory)
    recordings = list_recordings(directory)
    if not recordings:
        raise BankError(f"{directory}: no recordings found (expected <surface>/<footwear>/*.wav)")
    clips, entries = [], []
    counters: dict[tuple[str, str, float], int] = {}
    for surface, footwear, intensity, path in recordings:
        clip, onset = condition(read_audio(path, params.sample_rate), params, str(path))
        key = (surface, footwear, intensity)
        variation = counters.get(key, 0)
        counters[key] = variation + 1
        rel = path.relative_to(directory).as_posix()
        entries.append(
            BankEntry(
                id=f"{surface}-{footwear}-i{int(round(intensity * 100)):03d}-v{variation:02d}",
                surface=surface,
                footwear=footwear,
                intensity=intensity,
                onset=onset,
                provenance=f"recording:{rel}",
                variation=variation,
            )
        )
        clips.append(clip)
    return Bank.from_clips(params.sample_rate, clips, entries, name=directory.name or "folder")

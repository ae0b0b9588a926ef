"""Spectrograms of synthetic and real steps side by side, one row per surface: listening by looking.

What the figures of `compare` average away shows here: a ring is a horizontal line that outlasts the contact, near
copies repeat the same pattern step after step, a missing heel-to-toe roll is one blob instead of two.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from footfall.bank.compare import onset_index

STEP_MS = 400.0  # each step is shown from its onset for this long
GAP_MS = 40.0
STEPS_SHOWN = 4
FFT = 1024
HOP = 128
FLOOR_DB = 70.0  # colours span this far below each panel's loudest cell
FREQ_RANGE_HZ = (50.0, 16000.0)


def strip(clips: list[np.ndarray], sample_rate: int) -> np.ndarray:
    """Up to STEPS_SHOWN steps, each from its onset for STEP_MS, each scaled to the same peak, with short gaps."""
    n, gap = int(STEP_MS * 1e-3 * sample_rate), np.zeros(int(GAP_MS * 1e-3 * sample_rate))
    parts = []
    for clip in clips[:STEPS_SHOWN]:
        x = np.asarray(clip, dtype=np.float64).reshape(-1)
        x = x[max(0, onset_index(x, sample_rate) - int(0.005 * sample_rate)):][:n]
        x = np.pad(x, (0, n - x.size)) / max(float(np.max(np.abs(x))), 1e-12)
        parts += [x, gap]
    return np.concatenate(parts[:-1]) if parts else np.zeros(n)


def spectrogram_db(x: np.ndarray, sample_rate: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(times s, frequencies Hz, dB (freq, time)) of a Hann-windowed STFT."""
    x = np.pad(x, (FFT // 2, FFT // 2))
    frames = np.lib.stride_tricks.sliding_window_view(x, FFT)[::HOP]
    power = np.abs(np.fft.rfft(frames * np.hanning(FFT), axis=1)) ** 2
    times = np.arange(frames.shape[0]) * HOP / sample_rate
    return times, np.fft.rfftfreq(FFT, 1.0 / sample_rate), 10.0 * np.log10(power.T + 1e-20)


def plot_surfaces(panels: list[tuple[str, list[np.ndarray], list[np.ndarray]]], sample_rate: int, path: Path) -> None:
    """Writes a PNG: for each (surface, synthetic clips, real clips) a row, synthetic left, real right."""
    import matplotlib
    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    rows = max(1, len(panels))
    fig, axes = plt.subplots(rows, 2, figsize=(14, 1.9 * rows), squeeze=False, sharey=True)
    for r, (surface, synth, real) in enumerate(panels):
        for c, (clips, label) in enumerate(((synth, "synthetic"), (real, "real"))):
            ax = axes[r, c]
            if not clips:
                ax.text(0.5, 0.5, "no recording", ha="center", va="center", transform=ax.transAxes)
                ax.set_yscale("log")
                ax.set_ylim(*FREQ_RANGE_HZ)
            else:
                t, f, db = spectrogram_db(strip(clips, sample_rate), sample_rate)
                sel = (f >= FREQ_RANGE_HZ[0]) & (f <= FREQ_RANGE_HZ[1])
                top = float(db[sel].max())
                ax.pcolormesh(t, f[sel], db[sel], vmin=top - FLOOR_DB, vmax=top, cmap="magma", shading="auto")
                ax.set_yscale("log")
            ax.set_title(f"{surface}: {label} ({len(clips[:STEPS_SHOWN])} steps)", fontsize=9, loc="left")
            ax.tick_params(labelsize=7)
            if c == 0:
                ax.set_ylabel("Hz", fontsize=8)
    axes[-1, 0].set_xlabel("s", fontsize=8)
    axes[-1, 1].set_xlabel("s", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)

"""Per-case pictures for looking at misses: the feet's signals over time with true and detected steps marked.

Top: each heel's forward distance from the hips' midpoint along the direction of travel (the Zeni signal; it peaks
near heel strike). Bottom: each heel's drop below the hips on screen, so that a planted foot shows as a plateau. Both in units of body height. Truth: grey dashed lines; detections: triangles coloured
by foot, filled when matched, hollow when false.
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from footfall.engine.evaluation.metrics import CaseResult
from footfall.engine.evaluation.noise import body_height_px, track_from_samples
from footfall.engine.messages import NS_PER_S, PoseSample

_COLOURS = {"left": "tab:blue", "right": "tab:red"}


def foot_signals(samples: Sequence[PoseSample]) -> dict[str, np.ndarray]:
    """Time (s) and per-foot forward distance and drop below the hips (units of body height; NaN where absent)."""
    track = track_from_samples(samples)
    xy = track.xy
    hips = 0.5 * (xy[:, 23] + xy[:, 24])
    height = np.nanmedian(body_height_px(xy)) if track.present.any() else 1.0
    # direction of travel on screen: sign of the hips' horizontal velocity over about a second
    vx = np.gradient(np.nan_to_num(hips[:, 0], nan=np.nanmean(hips[:, 0]) if track.present.any() else 0.0))
    window = max(int(track.fps), 1)
    direction = np.sign(np.convolve(vx, np.ones(window) / window, mode="same"))
    direction[direction == 0] = 1
    out = {"t_s": np.array([s.t_ns for s in samples]) / NS_PER_S}
    for foot, heel in (("left", 29), ("right", 30)):
        out[f"{foot}_forward"] = direction * (xy[:, heel, 0] - hips[:, 0]) / height
        out[f"{foot}_drop"] = (xy[:, heel, 1] - hips[:, 1]) / height
    return out


def plot_case(path: str | Path, samples: Sequence[PoseSample], result: CaseResult) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    signals = foot_signals(samples)
    fig, axes = plt.subplots(2, 1, figsize=(14, 6), sharex=True)
    matched = {d for _, d in result.pairs}
    for ax, key, label in ((axes[0], "forward", "heel forward of hips"), (axes[1], "drop", "heel below hips")):
        for foot, colour in _COLOURS.items():
            ax.plot(signals["t_s"], signals[f"{foot}_{key}"], color=colour, lw=1, label=f"{foot} {label}")
        for step in result.truth:
            ax.axvline(step.t_ns / NS_PER_S, color="0.5", ls="--", lw=0.8)
        top = np.nanmax(np.r_[signals["left_" + key], signals["right_" + key], 0.0])
        for k, det in enumerate(result.detections):
            colour = _COLOURS.get(det.foot, "k")
            ax.plot(det.t_ns / NS_PER_S, top, marker="v", ms=8, color=colour,
                    markerfacecolor=colour if k in matched else "none")
        ax.set_ylabel("x body height")
        ax.legend(loc="lower right", fontsize=7)
    axes[1].set_xlabel("time (s)")
    tp, n_t, n_d = len(result.pairs), len(result.truth), len(result.detections)
    axes[0].set_title(f"{result.name}: {tp} matched of {n_t} true, {n_d} detected "
                      f"(tolerance {result.tolerance_ns / 1e6:.0f} ms; dashed = truth, filled = matched)")
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path

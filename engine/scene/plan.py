"""What `--scenes` adds to a run: the scene tap on the source's items and the bank refresher behind the mixer.

`prepare_scenes` loads CLIP (a missing or unreachable model is a one-line notice: cuts still run, the surface stays
as configured) and opens the folder of banks; the one graph builder (`engine/render.py: run_pipeline`) puts the tap
and the refresher in place when it is given a plan.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from footfall.bank.refresh import BankRefresher, RefreshParams
from footfall.bank.sample_bank import Bank
from footfall.engine.scene.clip_model import ClipUnavailable, load_clip
from footfall.engine.scene.labels import load_prompts
from footfall.engine.scene.stage import NO_CLIP_NOTICE, SceneLabeller, SceneParams, SceneTap


@dataclass
class ScenePlan:
    tap: SceneTap | None  # None: scene changes come from elsewhere (serve's control requests)
    refresher: BankRefresher
    notice: str | None = None  # to print once: why scenes are not labelled
    wait_for_banks: bool | None = None  # None: rendering a file waits for loads and renders, live does not

    def close(self) -> None:
        self.refresher.close()
        if self.tap is not None and self.tap.labeller is not None:
            self.tap.labeller.close()


def start_clip(params: SceneParams):
    """Starts loading CLIP in its own process (`[scene] clip_process`), to be finished by `load_labeller`; a run
    calls this first, so the model loads while the pose workers start and the bank loads. None when there is
    nothing to start."""
    if not (params.clip_model and params.clip_process):
        return None
    from footfall.engine.scene.clip_process import ClipProcess

    return ClipProcess(params.clip_model, load_prompts(params.prompts or None), params.clip_threads, params.clip_nice)


def load_labeller(params: SceneParams, started=None) -> tuple[SceneLabeller | None, str | None]:
    """CLIP and the prompts (`started`: what `start_clip` began), or None and the one-line notice saying why not."""
    if not params.clip_model:
        return None, NO_CLIP_NOTICE
    try:
        if params.clip_process:
            return SceneLabeller.from_process(started if started is not None else start_clip(params)), None
        t0 = time.perf_counter()
        embedder = load_clip(params.clip_model, threads=params.clip_threads)
        labeller = SceneLabeller.from_embedder(embedder, load_prompts(params.prompts or None))
        labeller.load_s = time.perf_counter() - t0
        return labeller, None
    except ClipUnavailable as exc:
        return None, f"{exc}: cuts are found, the surface stays as configured"


def prepare_scenes(params: SceneParams, refresh: RefreshParams, folder: Path | None, bank: Bank, surface: str,
                   footwear: str, started=None) -> tuple[ScenePlan, Bank]:
    """The plan, and the bank to open with: the folder's bank for the configured surface and footwear if it has
    one, else `bank`. `started`: the CLIP process `start_clip` began, if any."""
    labeller, notice = load_labeller(params, started)
    refresher = BankRefresher(folder, bank, refresh)
    opening = refresher.open(surface, footwear)
    return ScenePlan(SceneTap(params, labeller, surface, footwear), refresher, notice), opening


def scenes_document(log, swaps) -> dict:
    """The scene stage's findings and the bank swaps, as `live --stats-json` and `scene --json` write them."""
    return {"cuts_s": [t / 1e9 for t in log.cuts], "scenes": [r.to_dict() for r in log.scenes],
            "changes": [{"time_s": c.t_ns / 1e9, "surface": c.surface, "footwear": c.footwear,
                         "score": round(c.score, 4)} for c in log.changes],
            "bank_swaps": [{"time_s": w.t_ns / 1e9, "bank": w.bank, "how": w.how, "handover_ms": w.handover_ns / 1e6}
                           for w in swaps],
            "embeddings": log.embeddings, "embeddings_skipped": log.skipped, "frames": log.frames,
            "tap_us_per_frame": round((log.frame_ns - log.wait_ns) / max(log.frames, 1) / 1e3, 2),
            "clip_load_s": round(log.clip_load_s, 2),
            "clip_wait_ms": round(log.wait_ns / 1e6, 2)}

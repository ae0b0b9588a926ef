"""`footfall bench scene`: what the scene stage costs a video frame, and how long a cached bank takes to swap in.

Side by side in one run: the cut detector alone and the whole tap (cuts, hand-offs to the CLIP worker, tracking) per
frame at 1280x720 and 1920x1080, against the frame period; one CLIP embedding on the worker; and the time from a
scene change reaching the mixer stage to the mixer holding the new bank, cached in memory and loaded from disk,
against one sound-card block; with videos, whole renders without and with `--scenes`. CLIP is `--clip-model` if
given, else open_clip's ViT-B-32 architecture with random weights saved as safetensors and loaded as a run loads a
model (its speed does not depend on the weights; nothing is downloaded).
"""
from __future__ import annotations

import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from footfall.engine.messages import EndOfStream, SceneChange, VideoFrame
from footfall.engine.scene.clip_model import ClipUnavailable

SIZES = ((1280, 720), (1920, 1080))


def _pictures(w: int, h: int, n: int, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    other = np.ascontiguousarray(base[::-1, ::-1] // 2)
    return [base if k < n // 2 else other for k in range(n)]


def bench_scene(clip_model: str, frames: int = 300, fps: float = 30.0, block: int = 256, swaps: int = 50,
                params=None) -> dict:
    """The frame and swap figures, with CLIP `clip_model` loaded as a run loads it (`[scene]` of `params`)."""
    from footfall.engine.scene.cuts import CutDetector
    from footfall.engine.scene.plan import load_labeller
    from footfall.engine.scene.stage import SceneParams, SceneTap

    params = replace(params or SceneParams(), clip_model=clip_model)
    labeller, notice = load_labeller(params)
    if labeller is None:
        raise ClipUnavailable(notice)
    try:
        period_ns = int(1e9 / fps)
        rows = []
        for w, h in SIZES:
            pictures = _pictures(w, h, frames)
            cuts = CutDetector()
            cuts.push(0, pictures[0])  # compiles or loads the kernel
            t0 = time.perf_counter_ns()
            for k, im in enumerate(pictures):
                cuts.push(k * period_ns, im)
            cut_us = (time.perf_counter_ns() - t0) / frames / 1e3
            tap = SceneTap(params, labeller, "concrete", "sneaker")
            items = [VideoFrame(k, k * period_ns, period_ns, w, h, im) for k, im in enumerate(pictures)]
            start = time.perf_counter()
            for _ in tap.wrap(_paced(items + [EndOfStream(frames * period_ns)], fps), live=True):
                pass
            wall = time.perf_counter() - start
            log = tap.log
            rows.append({"size": f"{w}x{h}", "cut_us_per_frame": round(cut_us, 1),
                         "tap_us_per_frame": round(log.frame_ns / frames / 1e3, 1),
                         "frame_period_us": round(period_ns / 1e3, 1),
                         "tap_share_of_frame": round(log.frame_ns / frames / period_ns, 5),
                         "embeddings": log.embeddings, "embeddings_skipped": log.skipped, "wall_s": round(wall, 2)})
        pic = _pictures(1280, 720, 2)[0]
        labeller.embed(pic)
        t0 = time.perf_counter()
        for _ in range(5):
            labeller.embed(pic)
        clip_ms = (time.perf_counter() - t0) / 5 * 1e3
    finally:
        labeller.close()
    swap = _bench_swaps(swaps, block)
    return {"clip_model": labeller.name, "clip_process": params.clip_process, "frames": rows,
            "clip_ms_per_embedding": round(clip_ms, 1), **swap}


def _paced(items, fps):
    """Frames at the rate a live source delivers them, so the CLIP worker runs beside the frames' thread."""
    start = time.perf_counter()
    for k, item in enumerate(items):
        wait = start + k / fps - time.perf_counter()
        if wait > 0:
            time.sleep(wait)
        yield item


def _bench_swaps(n: int, block: int) -> dict:
    from footfall.bank.cache import default_bank
    from footfall.bank.format import save_bank
    from footfall.bank.refresh import BankRefresher
    from footfall.bank.sample_bank import Bank
    from footfall.engine.mixer.mixer import Mixer, MixerParams
    from footfall.engine.stages import BankSwitcher, SurfaceTimeline

    full = default_bank()
    params = MixerParams()
    with tempfile.TemporaryDirectory(prefix="footfall-bench-scene-") as tmp:
        for surface in ("grass", "wood"):
            idx = full.select(surface, "sneaker")
            save_bank(Bank.from_clips(full.sample_rate, [full.clip(int(i)) for i in idx],
                                      [full.entries[int(i)] for i in idx], name=f"{surface}-sneaker"),
                      Path(tmp) / surface)
        refresher = BankRefresher(Path(tmp), full)
        opening = refresher.open("grass", "sneaker")
        mixer = Mixer(params, opening)
        timeline = SurfaceTimeline("grass", "sneaker")
        live = BankSwitcher(mixer, refresher, live=True)
        out = np.zeros((block, params.channels), np.float32)
        mixer.render_into(out)
        t0 = time.perf_counter_ns()
        for _ in range(n):
            mixer.render_into(out)
        block_render_us = (time.perf_counter_ns() - t0) / n / 1e3
        offline = BankSwitcher(mixer, refresher, live=False)
        change = SceneChange(1, "wood", "sneaker")
        timeline.add(change)
        offline.scene(change, timeline)  # rendering a file: waits for the load from disk
        offline.before_step(1)
        loaded_ms = offline.swaps[0].handover_ns / 1e6
        for k in range(n):  # then back and forth between two banks in memory
            surface = "grass" if k % 2 == 0 else "wood"
            c = SceneChange(2 + k, surface, "sneaker")
            timeline.add(c)
            live.scene(c, timeline)
            mixer.render_into(out)
        refresher.close()
    handovers = np.array([s.handover_ns for s in live.swaps]) / 1e3
    block_us = block / params.sample_rate * 1e6
    return {"swaps_cached": len(live.swaps), "swap_cached_us_p50": round(float(np.median(handovers)), 1),
            "swap_cached_us_max": round(float(handovers.max()), 1), "swap_loaded_from_disk_ms": round(loaded_ms, 1),
            "audio_block_us": round(block_us, 1), "block_render_us": round(block_render_us, 1),
            "swap_cached_share_of_block": round(float(np.median(handovers)) / block_us, 4)}


def format_result(r: dict) -> str:
    where = "its own process" if r["clip_process"] else "a thread"
    lines = [f"CLIP: {r['clip_model']} in {where}, {r['clip_ms_per_embedding']} ms an embedding (one torch thread)",
             "size        cut detector   whole tap   frame period   tap / frame   embeddings (skipped)"]
    for row in r["frames"]:
        lines.append(f"{row['size']:<11} {row['cut_us_per_frame']:>9.1f} us {row['tap_us_per_frame']:>8.1f} us "
                     f"{row['frame_period_us']:>11.1f} us {row['tap_share_of_frame'] * 100:>11.2f} %   "
                     f"{row['embeddings']} ({row['embeddings_skipped']})")
    lines.append(f"bank swap, cached: p50 {r['swap_cached_us_p50']} us, max {r['swap_cached_us_max']} us over "
                 f"{r['swaps_cached']} swaps = {r['swap_cached_share_of_block'] * 100:.2f} % of one "
                 f"{r['audio_block_us'] / 1e3:.2f} ms block (rendering a silent block: {r['block_render_us']} us); "
                 f"loaded from disk: {r['swap_loaded_from_disk_ms']} ms")
    return "\n".join(lines)


def save_random_vit_b32(folder: Path) -> Path:
    """open_clip's ViT-B-32 with random weights, saved in open_clip's folder layout (speed does not depend on the
    weights), so a render loads it through the product's own code."""
    import json

    import open_clip
    from safetensors.torch import save_file

    from footfall.engine.scene.clip_model import _quiet

    with _quiet():
        model = open_clip.create_model("ViT-B-32", pretrained=None)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "open_clip_config.json").write_text(json.dumps({"model_cfg": open_clip.get_model_config("ViT-B-32"),
                                                              "preprocess_cfg": {}}))
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(folder / "open_clip_model.safetensors"))
    return folder


def _render(video: Path, clip: str | None, config: Path | None = None) -> dict:
    """One whole `render_file` call, with `--scenes` (CLIP `clip`) or without; in its own process."""
    from footfall.engine.commands.common import load_settings
    from footfall.engine.render import render_file

    settings = load_settings(config)
    with tempfile.TemporaryDirectory(prefix="footfall-bench-") as tmp:
        t0 = time.perf_counter()
        summary = render_file(video, Path(tmp) / "out.wav", settings.with_clip_model(clip),
                              scenes="" if clip is not None else None)
        wall = time.perf_counter() - t0
    log = summary.scenes
    return {"media_s": summary.media_s, "wall_s": wall, "steps": summary.steps,
            "embeddings": log.embeddings if log else 0, "clip_wait_s": log.wait_ns / 1e9 if log else 0.0,
            "clip_load_s": log.clip_load_s if log else 0.0,
            "tap_us_per_frame": (log.frame_ns - log.wait_ns) / max(log.frames, 1) / 1e3 if log else 0.0}


def bench_render_scenes(videos: list[Path], clip: str, runs: int = 2, config: Path | None = None) -> list[dict]:
    """Each video rendered without and with `--scenes`, alternating, `runs` times each, in fresh processes."""
    from footfall.engine.bench_render import in_fresh_process

    rows = []
    for video in videos:
        plain, scened = [], []
        for _ in range(runs):
            plain.append(in_fresh_process(_render, video, None, config))
            scened.append(in_fresh_process(_render, video, clip, config))
        rows.append({"video": video.name, "plain_x": [round(r["media_s"] / r["wall_s"], 2) for r in plain],
                     "scenes_x": [round(r["media_s"] / r["wall_s"], 2) for r in scened],
                     "steps": [plain[0]["steps"], scened[0]["steps"]], "embeddings": scened[0]["embeddings"],
                     "clip_wait_s": [round(r["clip_wait_s"], 2) for r in scened],
                     "clip_load_s": [round(r["clip_load_s"], 2) for r in scened],
                     "tap_us_per_frame": [round(r["tap_us_per_frame"], 1) for r in scened]})
    return rows


def format_render_rows(rows: list[dict]) -> str:
    lines = ["video                                    without --scenes   with --scenes   steps   CLIP waits (s), "
             "CLIP loading (s, overlapping start-up)"]
    for r in rows:
        lines.append(f"{r['video'][:40]:40} {'/'.join(f'{x:.2f}x' for x in r['plain_x']):>16}   "
                     f"{'/'.join(f'{x:.2f}x' for x in r['scenes_x']):>13}   {r['steps'][0]}/{r['steps'][1]}   "
                     f"{'/'.join(str(w) for w in r['clip_wait_s'])} ({r['embeddings']} embeddings), "
                     f"{'/'.join(str(w) for w in r['clip_load_s'])}")
    return "\n".join(lines)

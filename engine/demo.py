"""`footfall demo`: the real engine driven by a built-in pose stream, since no video can ship with it.

Two walkers at different depths cross the frame and the ground changes from wood to gravel. First the stick-figure
picture is drawn (rings mark the animation's true heel strikes, so the eye can judge sync); then the engine runs on
the same poses (steps -> mixer -> muxer) and the footstep track is muxed into that picture's video stream.
"""
from __future__ import annotations

import heapq
import tempfile
from pathlib import Path
from typing import Iterator

from footfall.bank.open import open_bank
from footfall.engine.messages import NS_PER_S, EndOfStream, PoseSample, SceneChange
from footfall.engine.progress import Progress
from footfall.engine.render import (RenderSettings, RenderSummary, check_vocabulary, open_staged_outputs, run_pipeline,
                                    stage_outputs)
from footfall.sinks.stick_figure_video import StickFigureParams, StickFigureVideo
from footfall.sources.procedural_walkers import ProceduralWalkers, WalkerSceneParams

FLASH_NS = 200_000_000  # how long a landing ring stays on screen


def scene_items(walkers: ProceduralWalkers) -> Iterator[PoseSample | SceneChange | EndOfStream]:
    """Poses and scene changes in media-time order, then the end of the stream."""
    changes = sorted(walkers.scene_changes(), key=lambda c: c.t_ns)
    i = 0
    for sample in walkers.samples():
        while i < len(changes) and changes[i].t_ns <= sample.t_ns:
            yield changes[i]
            i += 1
        yield sample
    yield EndOfStream(walkers.duration_ns)


def draw_picture(walkers: ProceduralWalkers, path: Path, params: StickFigureParams) -> None:
    contacts = sorted(walkers.true_contacts())
    changes = sorted(walkers.scene_changes(), key=lambda c: c.t_ns)
    video = StickFigureVideo(path, params)
    try:
        recent: list[tuple[int, int, str]] = []
        ci = 0
        surface = changes[0].surface if changes else None
        for sample in walkers.samples():
            while ci < len(contacts) and contacts[ci][0] <= sample.t_ns:
                heapq.heappush(recent, contacts[ci])
                ci += 1
            while recent and sample.t_ns - recent[0][0] > FLASH_NS:
                heapq.heappop(recent)
            for c in changes:
                if c.t_ns <= sample.t_ns:
                    surface = c.surface
            flashes = []
            people = {p.track_id: p for p in sample.persons}
            for t_ns, track, foot in recent:
                person = people.get(track)
                if person is None:
                    continue
                heel = person.landmarks[29 if foot == "left" else 30]
                flashes.append((foot, float(heel[0]), float(heel[1])))
            video.write(sample, surface=surface, flashes=flashes)
    finally:
        video.close()


def run_demo(output: Path, settings: RenderSettings, scene: WalkerSceneParams, events_path: Path | None = None,
             bank_spec: str | None = None, progress: Progress | None = None) -> RenderSummary:
    walkers = ProceduralWalkers(scene)
    bank = open_bank(bank_spec)
    check_vocabulary(bank, settings.render)
    with tempfile.TemporaryDirectory(prefix="footfall-demo-") as tmp:
        picture = Path(tmp) / "picture.mp4"
        draw_picture(walkers, picture, StickFigureParams(width=scene.width, height=scene.height, fps=scene.fps))
        staged = stage_outputs(picture, output, events_path)
        sink, events_sink = open_staged_outputs(picture, staged, output, settings, events_path)
        summary = run_pipeline(lambda: scene_items(walkers), settings, sink, events_sink, bank, progress,
                               source_name="footfall demo")
        staged.commit()
        return summary


def demo_duration_s(scene: WalkerSceneParams) -> float:
    return ProceduralWalkers(scene).duration_ns / NS_PER_S

"""`footfall scene VIDEO`: the scene timeline the scene stage finds (cuts, scenes, their surface and footwear)."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from footfall.engine.commands.common import EXPECTED_ERRORS, load_settings, report


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("scene", help="print a video's scene timeline: cuts, scene changes, surface and footwear",
                       description="Runs the scene stage of `render --scenes` over a video: the cut detector on every "
                       "frame and CLIP on a few (2 a second and at each cut), and prints each cut and each scene with "
                       "its zero-shot surface and footwear and their confidence; `changed` marks the scenes where "
                       "the sound would change. Without a CLIP model only cuts are printed.",
                       epilog="Settings: [scene] in config/default.toml; prompts in config/scenes.toml.")
    p.add_argument("video", type=Path)
    p.add_argument("--clip-model", metavar="PATH_OR_NAME", help="open_clip model: a folder, a .safetensors file, "
                   "hf-hub:ORG/REPO or ARCH:TAG (default: [scene] clip_model)")
    p.add_argument("--surface", help="the surface playing before the first scene change (default: [render])")
    p.add_argument("--footwear", help="the footwear playing before the first change (default: [render])")
    p.add_argument("--json", type=Path, metavar="OUT", help="also write the timeline as JSON")
    p.add_argument("--config", type=Path, help="TOML file laid over the render preset")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from footfall.engine.scene.plan import load_labeller, scenes_document
    from footfall.engine.scene.stage import SceneTap
    from footfall.engine.stages import video_items
    from footfall.sources.video_file import VideoFileSource, probe

    try:
        settings = load_settings(args.config, "render", {"surface": args.surface, "footwear": args.footwear})
        settings = settings.with_clip_model(args.clip_model)
        info = probe(args.video)
        labeller, notice = load_labeller(settings.scene)
        if notice:
            print(f"footfall: {notice}", file=sys.stderr)
        tap = SceneTap(settings.scene, labeller, settings.render.surface, settings.render.footwear)
        source = VideoFileSource(args.video, settings.source, info)
        for _ in tap.wrap(video_items(source.frames())):
            pass
    except EXPECTED_ERRORS as exc:
        return report(exc)
    log = tap.log
    print(f"{args.video}: {log.frames} frames, {len(log.cuts)} cuts, {len(log.scenes)} scenes, "
          f"{len(log.changes)} scene changes ({log.embeddings} CLIP embeddings)")
    rows = [(t, "cut") for t in log.cuts] + [(r.t_ns, _scene(r)) for r in log.scenes]
    for t, text in sorted(rows, key=lambda r: r[0]):
        print(f"  {t / 1e9:8.3f} s  {text}")
    if args.json:
        args.json.write_text(json.dumps({"video": str(args.video), **scenes_document(log, ())}, indent=1) + "\n")
    return 0


def _scene(r) -> str:
    return (f"scene  surface {r.surface} ({r.surface_score:.2f})  footwear {r.footwear} ({r.footwear_score:.2f})"
            f"{'  at cut' if r.at_cut else ''}{'  changed' if r.changed else ''}")

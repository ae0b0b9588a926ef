"""`footfall eval`: score step detection against every kind of ground truth, print a table, write JSON.

Two suites, one per run:
- videos with hand labels: `footfall eval VIDEO... --labels DIR` (truth `DIR/<stem>.steps.csv`); the detector runs
  on extract_poses' output, or, with `--events DIR`, exported events `DIR/<stem>.events.jsonl` are scored instead.
- motion capture: `footfall eval --mocap DIR` (every *.bvh; truth from mocap_contacts; pose streams from virtual
  cameras with fitted tracker noise) over views x frame rates. With `--skeleton3d` the 3-D feet themselves stream
  (as a game sends them) into the 3-D contact detector, per frame rate; views and noise do not apply.
  Joint names are mapped by config/skeletons.toml, or first by `--skeletons FILE`. `--skeleton3d --events DIR`
  scores the takes' exported events instead (e.g. `footfall play-bvh --json DIR/` through `footfall serve`).
`--ci DIR` runs every suite of an evaluation folder laid out like ../shared/eval (videos/ with
labels/<stem>.steps.csv, mocap/**/*.bvh): video; video-640x360 and video-480x270, the labelled videos scaled to fit
(scaled.py); wild, the videos labelled in wild/labels; mocap, and its front and back views alone (mocap-front,
mocap-back); mocap-standing, the people who do not walk made from the takes (`--standing`, 30 fps). The pooled figures at the top of the JSON are video and mocap's. `--floor FILE`
(config/eval_floor.toml) turns any of these into a regression gate: exit 1 with one line per figure past its floor,
checked per suite.
"""
from __future__ import annotations

import argparse
import csv
import dataclasses
import json
import math
import sys
import tomllib
import zlib
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any, Sequence

from footfall.engine import config
from footfall.engine.evaluation import labels as labels_mod
from footfall.engine.evaluation import metrics
from footfall.engine.evaluation.labels import TruthStep
from footfall.engine.messages import NS_PER_S, PoseSample

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
HIGHER_IS_BETTER = ("f1", "precision", "recall", "foot_accuracy", "foot_consistency")


@dataclass(frozen=True, eq=False)
class Case:
    """One thing to score: its truth, the pose stream (None when scoring exported events) and the span it covers."""

    name: str
    truth: tuple[TruthStep, ...]
    samples: tuple[PoseSample, ...] | None
    frame_period_ns: int
    start_ns: int
    end_ns: int
    events_file: Path | None = None


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "eval", help="score step detection against labelled videos or motion capture",
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("videos", nargs="*", type=Path, metavar="VIDEO", help="videos whose labels are in --labels")
    p.add_argument("--labels", type=Path, metavar="DIR", help="folder of <video stem>.steps.csv")
    p.add_argument("--events", type=Path, metavar="DIR",
                   help="score exported events DIR/<stem>.events.json (footfall's events file, a JSON list, or "
                        "JSON lines of StepEvent.to_dict) instead of running the detector")
    p.add_argument("--mocap", type=Path, metavar="DIR", help="folder of BVH takes (searched recursively)")
    p.add_argument("--ci", type=Path, metavar="DIR",
                   help="every suite of an evaluation folder: DIR/videos + DIR/labels (also scaled to fit 640x360 "
                        "and 480x270), DIR/wild/labels, and DIR/mocap (also per view: mocap-front, mocap-back; and "
                        "--standing at 30 fps: mocap-standing)")
    p.add_argument("--views", default="side,front,back,oblique,high",
                   help="virtual cameras (mocap); also: follow, a handheld camera carried behind the walker")
    p.add_argument("--fps", default="30,60", help="frame rates of the virtual cameras (mocap)")
    p.add_argument("--standing", action="store_true",
                   help="mocap: instead of the walks, people who do not walk, made from each take (standing and "
                        "gesturing, shifting their weight, hopping in place): every step found is a false one")
    p.add_argument("--noise", default="realistic",
                   help="tracker noise on mocap poses: none, realistic (config/noise_realistic.toml) or a TOML file")
    p.add_argument("--seed", type=int, default=0, help="noise seed (each case derives its own from it)")
    p.add_argument("--mode", choices=("live", "render"), default="render", help="detector mode")
    p.add_argument("--skeleton3d", action="store_true",
                   help="mocap: stream the 3-D feet into the 3-D contact detector ([steps3d]) instead of cameras")
    p.add_argument("--skeletons", type=Path, metavar="FILE",
                   help="extra joint-name mappings, tried before config/skeletons.toml")
    p.add_argument("--config", type=Path, metavar="FILE", help="TOML laid over the mode's preset")
    p.add_argument("--cache", type=Path, metavar="DIR", help="pose cache folder for extract_poses")
    p.add_argument("--tolerance-frames", type=float, metavar="N", help="match tolerance in frames (default 1)")
    p.add_argument("--tolerance-ms", type=float, metavar="M", help="match tolerance in ms (overrides frames)")
    p.add_argument("--idle-gap-s", type=float, default=2.0,
                   help="time from any true step after which nobody counts as walking (for false steps/min)")
    p.add_argument("--json", type=Path, metavar="OUT", help="write the figures here")
    p.add_argument("--plots", type=Path, metavar="DIR", help="write a PNG per case here")
    p.add_argument("--floor", type=Path, metavar="FILE", help="fail (exit 1) when a figure falls below its floor")
    p.add_argument("--fit-noise", type=Path, metavar="OUT",
                   help="instead of scoring, measure tracker noise on the videos' poses and write it as TOML")
    p.set_defaults(run=run)


# ---------------------------------------------------------------------------------------------------- cases


def _period_from_times(times: Sequence[int]) -> int:
    if len(times) < 2:
        return NS_PER_S // 30
    diffs = sorted(b - a for a, b in zip(times, times[1:]))
    return diffs[len(diffs) // 2]


def video_cases(videos: Sequence[Path], labels_dir: Path, events_dir: Path | None, cache: Path | None) -> list[Case]:
    cases = []
    for video in videos:
        if not video.is_file():
            raise FileNotFoundError(f"{video}: video not found")
        truth = labels_mod.read_labels(labels_mod.labels_path(video, labels_dir))
        if events_dir is not None:
            times = labels_mod.video_frame_times(video)
            samples = None
            events_file = events_path(events_dir, video.stem)
        else:
            samples = tuple(extract(video, cache))
            times = [s.t_ns for s in samples]
            events_file = None
        period = _period_from_times(times)
        truth = labels_mod.retime(truth, times)
        end = (times[-1] + period) if times else max([s.t_ns for s in truth] + [0]) + period
        cases.append(Case(video.stem, tuple(truth), samples, period, times[0] if times else 0, end, events_file))
    return cases


def extract(video: Path, cache: Path | None) -> list[PoseSample]:
    from footfall.engine.pose.extract import extract_poses

    return extract_poses(video, cache_dir=cache)


def labelled_videos(root: Path, labels_dir: Path | None = None) -> list[Path]:
    """Videos under root/videos that have labels in `labels_dir` (default root/labels)."""
    labels_dir = root / "labels" if labels_dir is None else labels_dir
    return sorted(v for v in (root / "videos").iterdir() if labels_mod.labels_path(v, labels_dir).is_file())


SCALED_SUITES = {"video-640x360": (640, 360), "video-480x270": (480, 270)}
VIEW_SUITES = ("front", "back")  # views the CI gate also scores on their own (the mocap suite pools every view)


def ci_video_suites(root: Path, cache: Path | None) -> dict[str, list[Case]]:
    """The evaluation folder's video suites: the labelled clips, their low-resolution copies, the wild clips."""
    from footfall.engine.evaluation.scaled import scaled_copy

    videos = labelled_videos(root)
    suites = {"video": video_cases(videos, root / "labels", None, cache)}
    for name, box in SCALED_SUITES.items():
        suites[name] = video_cases([scaled_copy(v, box) for v in videos], root / "labels", None, cache)
    wild = root / "wild" / "labels"
    if wild.is_dir():
        suites["wild"] = video_cases(labelled_videos(root, wild), wild, None, cache)
    return suites


def view_of(case_name: str) -> str:
    """The virtual camera of a mocap case (`take/view/fps` names)."""
    parts = case_name.split("/")
    return parts[-2] if len(parts) >= 3 else ""


NTSC_RATES = {"23.976": Fraction(24000, 1001), "29.97": Fraction(30000, 1001), "59.94": Fraction(60000, 1001)}


def frame_rate(text: str) -> Fraction:
    """A frame rate as written on the command line: 30, 25, or an NTSC rate (23.976, 29.97, 59.94, or 30000/1001)."""
    text = text.strip()
    try:
        rate = NTSC_RATES.get(text) or Fraction(text)
    except (ValueError, ZeroDivisionError):
        raise ValueError(f"--fps: '{text}' is not a frame rate") from None
    if not 1 <= rate <= 1000:
        raise ValueError(f"--fps: {text} is outside 1..1000 frames per second")
    return rate


def rate_name(rate: Fraction) -> str:
    """30 for 30 fps, 29.97 for 30000/1001: the name a case carries."""
    return str(rate.numerator) if rate.denominator == 1 else f"{float(rate):.3f}".rstrip("0")


def mocap_cases(args: argparse.Namespace, root: Path) -> list[Case]:
    from footfall.engine.evaluation.bvh import read_bvh, world_positions
    from footfall.engine.evaluation.mocap_contacts import contacts_from_positions
    from footfall.engine.evaluation.noise import apply_noise, load_noise
    from footfall.engine.evaluation.projection import (VIEWS, follow_cameras, joint_roles, landmarks_3d, place_camera,
                                                       pose_stream, resample)
    from footfall.engine.evaluation.standing import KINDS as STANDING_KINDS, standing_points
    from footfall.engine.skeletons import ALL_ROLES, FOOT_ROLES, load_schemes

    views = [v.strip() for v in args.views.split(",") if v.strip()]
    unknown = sorted(set(views) - set(VIEWS))
    if unknown:
        raise ValueError(f"--views: unknown view(s) {', '.join(unknown)} (have: {', '.join(VIEWS)})")
    rates = [frame_rate(r) for r in args.fps.split(",") if r.strip()]
    noise = load_noise(args.noise)
    takes = sorted(root.rglob("*.bvh"))
    if not takes:
        raise FileNotFoundError(f"{root}: no .bvh files")
    schemes = load_schemes(args.skeletons)
    cases = []
    for take in takes:
        motion = read_bvh(take)
        positions = world_positions(motion)
        roles = joint_roles(motion, FOOT_ROLES if args.skeleton3d else ALL_ROLES, schemes, str(take))
        contacts = contacts_from_positions(positions, roles, motion.fps)
        if args.skeleton3d and args.events is not None:  # events exported by play-bvh through serve
            truth = tuple(TruthStep(math.ceil(c.t_ns * motion.fps / NS_PER_S - 1e-9), c.t_ns, c.foot, "exact")
                          for c in contacts)
            period = int(round(NS_PER_S / motion.fps))
            name = f"{take.relative_to(root).with_suffix('').as_posix()}/events"
            cases.append(Case(name, truth, None, period, 0, positions.shape[0] * period, events_path(args.events,
                                                                                                     take.stem)))
            continue
        if args.skeleton3d:
            cases += skeleton_cases(take.relative_to(root).with_suffix("").as_posix(), positions, roles, motion.fps,
                                    rates, contacts)
            continue
        walk = landmarks_3d(positions, roles)
        stem = take.relative_to(root).with_suffix("").as_posix()
        # (case name, points, true steps, what the noise seed is drawn from)
        motions = ([(f"{stem}/{kind}", standing_points(walk, motion.fps, kind, zlib.crc32(stem.encode())), (), kind)
                    for kind in STANDING_KINDS] if args.standing else [(stem, walk, contacts, take.stem)])
        for name_stem, points, steps, noise_key in motions:
            for fps in rates:
                stream_points = points if fps == motion.fps else resample(points, motion.fps, float(fps))
                truth = tuple(TruthStep(math.ceil(c.t_ns * fps / NS_PER_S - 1e-9), c.t_ns, c.foot, "exact")
                              for c in steps)
                period = int(NS_PER_S // fps)
                for view in views:
                    name = f"{name_stem}/{view}/{rate_name(fps)}fps"
                    camera = (follow_cameras(stream_points, float(fps)) if view == "follow"
                              else place_camera(stream_points, view))
                    clean = pose_stream(stream_points, camera, fps)
                    # the same seed wherever DIR points
                    seed = zlib.crc32(f"{args.seed}:{noise_key}/{view}/{rate_name(fps)}".encode())
                    samples = tuple(apply_noise(clean, noise, seed))
                    cases.append(Case(name, truth, samples, period, 0, samples[-1].t_ns + period))
    return cases


def skeleton_cases(name: str, positions: Any, roles: dict[str, int], source_fps: float, rates: Sequence[Fraction],
                   contacts: Sequence[Any]) -> list[Case]:
    """One case per frame rate: the take's feet as a 3-D skeleton stream, resampled to that rate. A resampled stream
    is that rate's data, so its truth is computed from it (the take's own contacts at the take's rate)."""
    from footfall.engine.evaluation.mocap_contacts import contacts_from_positions
    from footfall.engine.evaluation.projection import resample
    from footfall.engine.skeletons import FOOT_ROLES
    from footfall.engine.streams import skeleton_stream

    feet = positions[:, [roles[r] for r in FOOT_ROLES]]
    cases = []
    for fps in rates:
        stream = feet if fps == source_fps else resample(feet, source_fps, float(fps))
        if fps != source_fps:
            contacts = contacts_from_positions(stream, dict(zip(FOOT_ROLES, range(4))), float(fps))
        truth = tuple(TruthStep(math.ceil(c.t_ns * fps / NS_PER_S - 1e-9), c.t_ns, c.foot, "exact") for c in contacts)
        samples = tuple(skeleton_stream(stream, float(fps)))
        period = int(NS_PER_S // fps)
        cases.append(Case(f"{name}/3d/{rate_name(fps)}fps", truth, samples, period, 0, samples[-1].t_ns + period))
    return cases


# ---------------------------------------------------------------------------------------------------- detection


def step_params(args: argparse.Namespace) -> Any:
    from footfall.engine.steps.detector import StepParams

    preset = args.mode if args.mode in config.preset_names() else "default"
    if getattr(args, "skeleton3d", False):
        from footfall.engine.steps.contact3d import Contact3DParams

        return config.section(config.load(preset, args.config), "steps3d", Contact3DParams)
    params = config.section(config.load(preset, args.config), "steps", StepParams)
    if "mode" in {f.name for f in dataclasses.fields(params)}:
        params = dataclasses.replace(params, mode=args.mode)
    return params


def detect(samples: Sequence[Any], params: Any, frame_period_ns: int) -> list[metrics.Detection]:
    """Run the detector as the graph would, noting the media time of the frame at which each event came out."""
    from footfall.engine.steps.contact3d import Contact3DParams, ContactDetector3D
    from footfall.engine.steps.detector import StepDetector

    detector = ContactDetector3D(params) if isinstance(params, Contact3DParams) else StepDetector(params)
    out = []
    for sample in samples:
        out += [metrics.Detection.from_event(e, sample.t_ns) for e in detector.push(sample)]
    end = (samples[-1].t_ns + frame_period_ns) if samples else 0
    out += [metrics.Detection.from_event(e, end) for e in detector.flush()]
    return out


EVENT_SUFFIXES = (".events.json", ".events.jsonl", ".events.csv")


def events_path(events_dir: Path, stem: str) -> Path:
    for suffix in EVENT_SUFFIXES:
        if (events_dir / f"{stem}{suffix}").is_file():
            return events_dir / f"{stem}{suffix}"
    raise FileNotFoundError(f"{events_dir}/{stem}{{{','.join(EVENT_SUFFIXES)}}}: no events file")


def read_events(path: Path) -> list[metrics.Detection]:
    """Exported events: footfall's events file ({"events": [...]} or CSV), a JSON list, or JSON lines of
    StepEvent.to_dict records."""
    text = path.read_text()
    stripped = text.strip()
    if path.suffix == ".csv":
        records = list(csv.DictReader(text.splitlines()))
    else:
        try:
            doc = json.loads(stripped)
            records = doc["events"] if isinstance(doc, dict) else doc
        except json.JSONDecodeError:
            records = [json.loads(x) for x in text.splitlines() if x.strip()]
    out = []
    for r in records:
        t_ns = int(r["t_ns"]) if "t_ns" in r else int(round(float(r["time_s"]) * NS_PER_S))
        delay_ns = int(round(float(r.get("delay_ms", 0.0)) * 1e6))
        out.append(metrics.Detection(t_ns, str(r.get("foot", "")), t_ns + delay_ns))
    return out


# ---------------------------------------------------------------------------------------------------- output


def _fmt(value: Any, digits: int = 3) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def table(doc: dict) -> str:
    cols = [("case", None), ("truth", "n_truth"), ("det", "n_detected"), ("tp", "true_positives"),
            ("P", "precision"), ("R", "recall"), ("F1", "f1"), ("err_med", "median_error_ms"),
            ("|err|_med", "median_abs_error_ms"), ("|err|_p95", "p95_abs_error_ms"),
            ("delay_med", "median_delay_ms"), ("delay_p95", "p95_delay_ms"), ("foot", None), ("idleFP/min", None)]
    rows = [[name] + [None] * (len(cols) - 1) for name in [*doc["cases"], "ALL"]]
    for row in rows:
        figs = doc if row[0] == "ALL" else doc["cases"][row[0]]
        for k, (_, key) in enumerate(cols[1:], start=1):
            digits = 1 if key and key.endswith("_ms") else 3
            row[k] = _fmt(figs[key], digits) if key else None
        foot = figs["foot_accuracy"] if figs["foot_accuracy"] is not None else figs["foot_consistency"]
        row[-2] = _fmt(foot)
        row[-1] = _fmt(figs["false_steps_per_min"], 1)
    header = [c for c, _ in cols]
    widths = [max(len(str(r[k])) for r in rows + [header]) for k in range(len(cols))]
    lines = ["  ".join(str(v).ljust(w) if k == 0 else str(v).rjust(w) for k, (v, w) in enumerate(zip(r, widths)))
             for r in [header] + rows]
    lines.insert(1, "-" * len(lines[0]))
    lines.insert(len(lines) - 1, "-" * len(lines[0]))
    return "\n".join(lines)


def check_floor(doc: dict, floor: dict, suite: str, source: str = "floor") -> list[str]:
    """One message per figure below its [suite.min] floor or above its [suite.max] ceiling."""
    section = floor.get(suite, {})
    failures = []
    for bound, table_ in (("min", section.get("min", {})), ("max", section.get("max", {}))):
        for key, limit in table_.items():
            value = doc.get(key, "absent")
            if value == "absent":
                failures.append(f"eval floor: {key} is not a figure ({source} [{suite}.{bound}])")
            elif value is None:
                failures.append(f"eval floor: {key} was not measured ({suite}, {bound} {limit})")
            elif bound == "min" and value < limit:
                failures.append(f"eval floor: {key} = {value:.4g} is below its floor {limit} ({suite})")
            elif bound == "max" and value > limit:
                failures.append(f"eval floor: {key} = {value:.4g} is above its ceiling {limit} ({suite})")
    return failures


# ---------------------------------------------------------------------------------------------------- run


def fit_noise(args: argparse.Namespace) -> int:
    from footfall.engine.evaluation import noise

    measured = [noise.measure(extract(v, args.cache)) for v in args.videos]
    for video, m in zip(args.videos, measured):
        print(video.name, " ".join(f"{k}={v:.4g}" for k, v in m.items()))
    fitted = noise.fit(measured)
    note = "Tracker noise fitted by `footfall eval --fit-noise` on: " + ", ".join(v.name for v in args.videos)
    args.fit_noise.write_text(noise.to_toml(fitted, note))
    print(f"wrote {args.fit_noise}")
    return EXIT_OK


def gather(args: argparse.Namespace) -> dict[str, list[Case]]:
    """The cases of each suite asked for."""
    if args.ci is not None:
        standing = argparse.Namespace(**{**vars(args), "standing": True, "fps": "30"})
        return {**ci_video_suites(args.ci, args.cache), "mocap": mocap_cases(args, args.ci / "mocap"),
                "mocap-standing": mocap_cases(standing, args.ci / "mocap")}
    if args.videos:
        return {"video": video_cases(args.videos, args.labels, args.events, args.cache)}
    return {"mocap": mocap_cases(args, args.mocap)}


def score(cases: Sequence[Case], args: argparse.Namespace, params: Any) -> list[metrics.CaseResult]:
    results = []
    for case in cases:
        if case.samples is None:
            detections = read_events(case.events_file)
        else:
            detections = detect(case.samples, params, case.frame_period_ns)
        tolerance = metrics.tolerance_ns(case.frame_period_ns, args.tolerance_frames, args.tolerance_ms)
        match = metrics.MatchParams(tolerance, int(round(args.idle_gap_s * NS_PER_S)))
        result = metrics.evaluate_case(case.name, case.truth, detections, match, case.start_ns, case.end_ns)
        results.append(result)
        if args.plots and case.samples is not None and not getattr(args, "skeleton3d", False):
            from footfall.engine.evaluation.plots import plot_case

            plot_case(args.plots / f"{case.name.replace('/', '__')}.png", case.samples, result)
    return results


def run(args: argparse.Namespace) -> int:
    if sum(map(bool, (args.videos, args.mocap, args.ci))) != 1:
        print("footfall eval: give one of VIDEO... --labels DIR, --mocap DIR or --ci DIR", file=sys.stderr)
        return EXIT_USAGE
    if args.videos and args.fit_noise:
        return fit_noise(args)
    if args.videos and args.labels is None:
        print("footfall eval: videos need --labels DIR", file=sys.stderr)
        return EXIT_USAGE
    try:
        floor = tomllib.loads(args.floor.read_text()) if args.floor else None
        suites = gather(args)
        needs_detector = any(c.samples is not None for cases in suites.values() for c in cases)
        params = step_params(args) if needs_detector else None
        results = {name: score(cases, args, params) for name, cases in suites.items()}
        if args.ci is not None:
            for view in VIEW_SUITES:
                results[f"mocap-{view}"] = [r for r in results["mocap"] if view_of(r.name) == view]
    except (OSError, ValueError, KeyError, tomllib.TOMLDecodeError, ImportError) as exc:
        print(f"footfall eval: {exc}", file=sys.stderr)
        return EXIT_FAILED
    pooled = [name for name in results if name in ("video", "mocap")] or list(results)  # not copies and subsets
    doc = metrics.report([r for name in pooled for r in results[name]])
    doc["mode"] = args.mode
    doc["suites"] = {name: metrics.figures(rs) for name, rs in results.items()}
    for name, rs in results.items():
        print(f"[{name}]")
        print(table(metrics.report(rs)))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(doc, indent=2) + "\n")
    if floor is not None:
        failures = [line for name in results for line in check_floor(doc["suites"][name], floor, name, str(args.floor))]
        for line in failures:
            print(line, file=sys.stderr)
        if failures:
            return EXIT_FAILED
    return EXIT_OK

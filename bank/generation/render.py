"""`footfall bank render`: footsteps generated with Stable Audio (+ LoRA), cut into single steps, saved as a bank.

Clips are generated in batches (`sampling.generate_mono`; batch b seeded with seed + b), as 48 kHz mono, sliced
(`slicing.py`) until `variations` usable steps are found or `max_clips` clips
were made, and written in the bank format (bank/FORMAT.md) through `format.save_bank`, atomically. Every sample's
provenance records the model, adapters, prompt, seed, clip, sampler and steps (grammar in FORMAT.md).

A render is cached under the cache dir (`generated/<key>`), keyed by a hash of everything that decides its
audio: model config and checkpoint hashes, adapters' hashes and strengths, prompt, seed, parameters, and the source
of the slicing and rendering code; the same render again is a copy from the cache, without loading the model.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import time
import urllib.parse
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from footfall.bank import conditioning
from footfall.bank.format import MANIFEST_NAME, MANIFEST_VERSION, SAMPLE_RATE, BankError, load_bank, save_bank
from footfall.bank.generation import slicing
from footfall.bank.generation.lora import LoraRequest
from footfall.bank.generation.lora_files import adapter_digest
from footfall.bank.generation.model import ModelSpec, file_sha256, resolve_file
from footfall.bank.generation.sampling import clip_sample_size, generate_mono
from footfall.bank.generation.slicing import SliceParams, slice_steps
from footfall.bank.sample_bank import Bank, BankEntry

SAMPLERS = ("dpmpp-3m-sde", "dpmpp-2m-sde", "dpmpp-2m", "k-heun", "k-lms", "k-dpmpp-2s-ancestral", "k-dpm-2",
            "k-dpm-fast")


@dataclass(frozen=True)
class RenderParams:
    """How clips are generated (documented in config/default.toml [bank_render]).

    steps: sampler steps per clip. cfg_scale: classifier-free guidance. sampler, sigma_min, sigma_max: the
    k-diffusion sampler and its noise range (Stable Audio Open's own defaults). clip_seconds: audio per generated
    clip (it holds a few steps). batch: clips per generation call. max_clips: give up after this many clips
    (0: 4 per wanted sample). slicing: how clips become samples.
    """

    steps: int = 100
    cfg_scale: float = 7.0
    sampler: str = "dpmpp-3m-sde"
    sigma_min: float = 0.3
    sigma_max: float = 500.0
    clip_seconds: float = 4.0
    batch: int = 8
    max_clips: int = 0
    slicing: SliceParams = field(default_factory=SliceParams)

    def __post_init__(self) -> None:
        if self.steps < 2 or self.batch < 1 or self.max_clips < 0:  # k-diffusion's samplers fail on 1 step
            raise ValueError("steps must be at least 2, batch at least 1, max_clips not negative")
        if self.sampler not in SAMPLERS:
            raise ValueError(f"sampler must be one of {', '.join(SAMPLERS)}, not {self.sampler!r}")
        if not 0 < self.sigma_min < self.sigma_max:
            raise ValueError("need 0 < sigma_min < sigma_max")
        if self.clip_seconds <= 0 or self.cfg_scale < 0:
            raise ValueError("clip_seconds must be positive and cfg_scale not negative")


@dataclass(frozen=True)
class RenderRequest:
    """One bank to render: what for, from which model and adapters, with which prompt and seed."""

    surface: str
    footwear: str
    variations: int
    model: ModelSpec
    prompt: str
    negative_prompt: str = ""
    loras: tuple[LoraRequest, ...] = ()
    seed: int = 0
    params: RenderParams = field(default_factory=RenderParams)

    def __post_init__(self) -> None:
        if self.variations < 1:
            raise ValueError("variations must be at least 1")
        for name in (self.surface, self.footwear):
            if not name or any(c in name for c in "/\\ ") or name.startswith("."):
                raise ValueError(f"{name!r} is not usable as a surface or footwear name")

    @property
    def max_clips(self) -> int:
        return self.params.max_clips or 4 * self.variations


@dataclass(frozen=True)
class RenderReport:
    """What a render did: samples kept, clips made, rejections by reason, where from, how long it took."""

    samples: int
    clips: int
    rejected: dict
    cached: bool
    cache_dir: Path
    wall_s: float


def render_bank(request: RenderRequest, out_dir: Path, cache_root: Path | None = None,
                progress=None, log: Callable[[str], None] = lambda _: None) -> RenderReport:
    """Render (or copy from the cache) the bank `request` describes into `out_dir`."""
    from footfall.engine.cache_dir import cache_root as default_cache_root

    start = time.perf_counter()
    cache = Path(cache_root) if cache_root is not None else default_cache_root()
    identity = _identity(request)
    cached_dir = cache / "generated" / _key(identity)
    if (cached_dir / MANIFEST_NAME).is_file():
        try:
            bank = load_bank(cached_dir)
            save_bank(bank, out_dir)
            meta = json.loads((cached_dir.parent / f"{cached_dir.name}.json").read_text())
            return RenderReport(len(bank.entries), meta["clips"], meta["rejected"], True, cached_dir,
                                time.perf_counter() - start)
        except (BankError, OSError, ValueError, KeyError):
            log(f"cache entry {cached_dir} is damaged: rendering again")
    bank, clips, rejected = _generate(request, identity, progress, log)
    if not bank.entries:
        reasons = ", ".join(f"{n} {r}" for r, n in rejected.most_common()) or "no onsets"
        raise BankError(f"{out_dir}: no usable steps in {clips} generated clips ({reasons}); nothing written")
    save_bank(bank, out_dir)
    try:  # the cache is a convenience: a read-only or full cache still gives the user the bank
        cache.joinpath("generated").mkdir(parents=True, exist_ok=True)
        save_bank(bank, cached_dir)
        (cached_dir.parent / f"{cached_dir.name}.json").write_text(
            json.dumps({"clips": clips, "rejected": dict(rejected), "identity": identity}, indent=1) + "\n")
    except (BankError, OSError) as exc:
        log(f"cannot keep the render in the cache {cached_dir} ({exc})")
    return RenderReport(len(bank.entries), clips, dict(rejected), False, cached_dir, time.perf_counter() - start)


def _identity(request: RenderRequest) -> dict:
    """Everything that decides the audio, with files named by their SHA-256."""
    config = resolve_file(request.model.config, "model config")
    checkpoint = resolve_file(request.model.checkpoint, "checkpoint") if request.model.checkpoint else None
    code = [Path(p).read_bytes() for p in (slicing.__file__, conditioning.__file__, __file__)]
    return {
        "model": {"config": file_sha256(config), "checkpoint": file_sha256(checkpoint) if checkpoint else None,
                  "dtype": str(request.model.torch_dtype).removeprefix("torch."),
                  "device": request.model.device.split(":")[0]},
        "loras": [{"file": r.path.name, "sha256": adapter_digest(r.path), "strength": r.strength}
                  for r in request.loras],
        "prompt": request.prompt,
        "negative_prompt": request.negative_prompt,
        "surface": request.surface,
        "footwear": request.footwear,
        "variations": request.variations,
        "seed": request.seed,
        "params": dataclasses.asdict(request.params),
        "code": hashlib.sha256(b"".join(code)).hexdigest(),
        "manifest": MANIFEST_VERSION,
    }


def _key(identity: dict) -> str:
    return hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:20]


def provenance(model_name: str, identity: dict, clip: int, at: int) -> str:
    """`generated:` provenance of one sample (grammar in bank/FORMAT.md)."""
    p = identity["params"]
    loras = "+".join(f"{urllib.parse.quote(l['file'], safe='')}@{l['sha256'][:12]}*{l['strength']:g}"
                     for l in identity["loras"]) or "none"
    ckpt = (identity["model"]["checkpoint"] or "random")[:12]
    return (f"generated:{urllib.parse.quote(model_name, safe='/')}@{ckpt};config={identity['model']['config'][:12]};"
            f"lora={loras};prompt={urllib.parse.quote(identity['prompt'], safe='')};seed={identity['seed']};"
            f"clip={clip};at={at};sampler={p['sampler']};steps={p['steps']};cfg={p['cfg_scale']:g}")


def _generate(request: RenderRequest, identity: dict, progress, log) -> tuple[Bank, int, Counter]:
    from footfall.bank.generation.lora import apply_loras
    from footfall.bank.generation.model import load_model

    loaded = load_model(request.model)
    stack = apply_loras(loaded, request.loras)
    for adapter in stack.adapters:
        log(f"LoRA {adapter.path} ({adapter.format}, rank {adapter.rank}, {adapter.layers} layers) "
            f"at strength {adapter.strength:g}")
    params = request.params
    sample_size = clip_sample_size(loaded, params.clip_seconds)
    seconds = sample_size / loaded.sample_rate
    rejected: Counter = Counter()
    clips, entries, audio = 0, [], []
    batch_index = 0
    while len(entries) < request.variations and clips < request.max_clips:
        n = min(params.batch, request.max_clips - clips)

        def on_step(i: int, done_before: float = clips * seconds, n: int = n) -> None:
            if progress is not None:
                progress.advance(done_before + n * seconds * (i + 1) / params.steps)
                progress.draw()

        mono = generate_mono(loaded, request.prompt, n, sample_size, request.seed + batch_index, params,
                             request.negative_prompt, on_step=on_step)
        for j in range(n):
            for step in slice_steps(mono[j], SAMPLE_RATE, params.slicing, rejected):
                if len(entries) == request.variations:
                    break
                k = len(entries)
                entries.append(BankEntry(
                    id=f"{request.surface}-{request.footwear}-gen-v{k:03d}", surface=request.surface,
                    footwear=request.footwear, intensity=1.0, onset=step.onset, variation=k,
                    provenance=provenance(loaded.name, identity, clips + j, step.clip_onset)))
                audio.append(step.audio)
        clips += n
        batch_index += 1
        if progress is not None:
            progress.steps = len(entries)
            progress.advance(clips * seconds)
            progress.draw()
    name = f"generated-{request.surface}-{request.footwear}"
    return Bank.from_clips(SAMPLE_RATE, audio, entries, name=name), clips, rejected


def expected_audio_seconds(request: RenderRequest) -> float:
    """Audio seconds a render makes at most (for a progress display)."""
    return request.max_clips * request.params.clip_seconds


def describe(report: RenderReport) -> str:
    rejected = ", ".join(f"{n} {r}" for r, n in sorted(report.rejected.items(), key=lambda kv: -kv[1])) or "none"
    where = "from the cache" if report.cached else f"in {report.wall_s:.1f} s"
    return f"{report.samples} samples from {report.clips} clips {where}; rejected: {rejected}"

"""`footfall bench bank-render`: how fast footsteps are generated, by sampler steps and batch size, side by side.

By default the model is Stable Audio Open 1.0's full architecture (`architectures.stable_audio_open_1_0`) with
random weights, in bf16 on the GPU: generation speed does not depend on the weights. Its T5 prompt encoder needs
weights only the hub has, so the prompt enters as T5-base-shaped embeddings (128 tokens x 768, all valid, the
longest a prompt can be): the DiT and the autoencoder do exactly the work they do with a real prompt; the T5
forward pass itself (once per batch) is not timed. `--model` times a real model instead, and then counts how many
of the clips are usable single steps (`slicing.py`). `--tiny` builds the tiny test architecture, for a smoke run
on the CPU.

Each row generates `samples` clips of `seconds` (one step each) in batches of `batch`, after one untimed warm-up
batch, and reports the wall time for all of them: generation, decoding and resampling to 48 kHz mono, with the
device synchronised. Stable Audio Open's config decodes a batch one clip at a time (`iterate_batch`, to bound
memory on long clips): `--decode together` decodes the whole batch at once, `both` shows the two side by side.
The target is 64 samples in 2 s or less on one H100/H200.
"""
from __future__ import annotations

import dataclasses
import json
import math
import platform
import sys
import time
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path

TARGET_S = 2.0
PROMPT_TOKENS = 128


@dataclass(frozen=True)
class BenchRow:
    steps: int
    batch: int
    decode: str
    clips: int
    wall_s: float
    clips_per_s: float
    s_per_64: float
    usable: int | None
    peak_gpu_gb: float | None
    meets_target: bool


def build(args):
    """(LoadedModel-like model, name) for the arguments."""
    import torch

    from footfall.bank.generation import architectures
    from footfall.bank.generation.model import LoadedModel, ModelSpec, build_model, load_model

    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    if args.model:
        return load_model(ModelSpec.parse(args.model, device, args.dtype))
    config = architectures.tiny(("footsteps",)) if args.tiny else \
        architectures.stable_audio_open_1_0("list", ("footsteps",))
    spec = ModelSpec("stable-audio-open-1.0 architecture" if not args.tiny else "tiny", None, device, args.dtype)
    torch.manual_seed(0)
    model = build_model(config).to(device, dtype=spec.torch_dtype).eval().requires_grad_(False)
    return LoadedModel(model, config, spec, "", None, "tiny" if args.tiny else "stable-audio-open-1.0 (random)")


def _conditioning_tensors(loaded, batch: int, seconds: float) -> dict:
    """The model's own conditioning for seconds, with the prompt as T5-base-shaped embeddings."""
    import torch

    device = loaded.spec.device
    cond = [{"prompt": "footsteps", "seconds_start": 0, "seconds_total": seconds}] * batch
    with torch.inference_mode():
        tensors = loaded.model.conditioner(cond, device)
    dim = int(loaded.config["model"]["conditioning"]["cond_dim"])
    gen = torch.Generator(device="cpu").manual_seed(batch)
    tensors["prompt"] = (torch.randn(batch, PROMPT_TOKENS, dim, generator=gen).to(device),
                         torch.ones(batch, PROMPT_TOKENS, dtype=torch.bool, device=device))
    return tensors


def _sync(device: str) -> None:
    import torch

    if device.startswith("cuda"):
        torch.cuda.synchronize()


def run_rows(loaded, samples: int, steps_list, batches, seconds: float, decodes=("each",),
             report=print) -> list[BenchRow]:
    import torch

    from footfall.bank.generation.render import RenderParams
    from footfall.bank.generation.sampling import clip_sample_size, generate_mono
    from footfall.bank.generation.slicing import SliceParams, slice_steps

    sample_size = clip_sample_size(loaded, seconds)
    real_prompt = loaded.checkpoint_sha256 is not None
    device = loaded.spec.device
    rows = []
    pretransform = loaded.model.pretransform
    seconds_total = sample_size / loaded.sample_rate
    for steps, batch, decode in ((s, b, d) for s in steps_list for b in batches for d in decodes):
        if pretransform is not None:
            pretransform.iterate_batch = decode == "each"
        params = dataclasses.replace(RenderParams(), steps=steps)

        def clips_of(seed: int, batch: int = batch, params=params):
            tensors = None if real_prompt else _conditioning_tensors(loaded, batch, seconds_total)
            return generate_mono(loaded, "footsteps", batch, sample_size, seed, params, conditioning_tensors=tensors)

        clips_of(0)  # warm-up: kernels, allocator
        _sync(device)
        if device.startswith("cuda"):
            torch.cuda.reset_peak_memory_stats()
        clips, outputs = 0, []
        start = time.perf_counter()
        for b in range(math.ceil(samples / batch)):
            outputs.append(clips_of(1 + b))
            clips += batch
        _sync(device)
        wall = time.perf_counter() - start
        usable = None
        if real_prompt:
            rejected: Counter = Counter()
            usable = sum(len(slice_steps(clip, 48000, SliceParams(), rejected)) > 0 for out in outputs for clip in out)
        peak = torch.cuda.max_memory_allocated() / 1e9 if device.startswith("cuda") else None
        per_64 = wall * 64 / clips
        row = BenchRow(steps, batch, decode, clips, wall, clips / wall, per_64, usable, peak, per_64 <= TARGET_S)
        rows.append(row)
        report(format_row(row))
    return rows


HEADER = f"{'steps':>5} {'batch':>5} {'decode':>8} {'clips':>5} {'wall s':>8} {'clips/s':>8} {'s per 64':>9} " \
         f"{'usable':>6} {'GPU GB':>6}  target (64 in <= {TARGET_S:g} s)"


def format_row(r: BenchRow) -> str:
    usable = "-" if r.usable is None else str(r.usable)
    gpu = "-" if r.peak_gpu_gb is None else f"{r.peak_gpu_gb:.1f}"
    return (f"{r.steps:>5} {r.batch:>5} {r.decode:>8} {r.clips:>5} {r.wall_s:>8.2f} {r.clips_per_s:>8.2f} "
            f"{r.s_per_64:>9.2f} {usable:>6} {gpu:>6}  {'meets' if r.meets_target else 'misses'}")


def run(args) -> int:
    import torch

    from footfall.bank.generation.model import ModelError

    try:
        loaded = build(args)
    except (ModelError, ValueError) as exc:
        print(f"footfall bench: {exc}", file=sys.stderr)
        return 1
    device = loaded.spec.device
    gpu = torch.cuda.get_device_name(device) if device.startswith("cuda") else platform.processor() or "cpu"
    print(f"model: {loaded.name}  device: {device} ({gpu})  dtype: {str(loaded.spec.torch_dtype).split('.')[-1]}  "
          f"{args.samples} clips of {args.seconds:g} s per row", flush=True)
    print(HEADER, flush=True)
    decodes = ("each", "together") if args.decode == "both" else (args.decode,)
    rows = run_rows(loaded, args.samples, args.steps, args.batches, args.seconds, decodes,
                    report=lambda line: print(line, flush=True))
    if args.json:
        record = {"model": loaded.name, "device": device, "device_name": gpu, "dtype": str(loaded.spec.torch_dtype),
                  "torch": torch.__version__, "samples": args.samples, "seconds": args.seconds,
                  "steps": list(args.steps), "batches": list(args.batches), "tiny": bool(args.tiny),
                  "decode": list(decodes),
                  "target_s_per_64": TARGET_S,
                  "rows": [asdict(r) for r in rows]}
        Path(args.json).write_text(json.dumps(record, indent=1) + "\n")
    return 0

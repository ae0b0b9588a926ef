"""LoRA fine-tuning of a Stable Audio DiT on footstep recordings (`footfall bank train-lora`).

Only the adapters learn: the autoencoder, the conditioners and the DiT's own weights stay frozen. Each step takes a
random batch of training clips, encodes it with the model's pretransform, noises it and regresses the DiT's output
onto the model's own objective (`objective.py`). Adapters go to OUT_DIR in peft's standard format
(`adapter_config.json` + `adapter_model.safetensors`); checkpoints to OUT_DIR/checkpoints (`checkpoint.py`);
validation renders, one clip per caption, to OUT_DIR/validation/step-NNNNNNNN/; the losses to OUT_DIR/training.json.

On the CPU a run is bit-for-bit reproducible, and a run resumed from a checkpoint continues exactly as the
uninterrupted run would have: every random draw (LoRA initialisation, batch choice, timesteps, noise, the VAE's
sampling, classifier-free-guidance dropout) comes from two generators whose states are checkpointed, and validation
runs on forked generators.
"""
from __future__ import annotations

import contextlib
import dataclasses
import io
import json
import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Literal

import numpy as np

from footfall.bank.format import BankError
from footfall.bank.generation.checkpoint import (CheckpointError, checkpoint_dir, latest_checkpoint,
                                                 load_trainer_state, save_checkpoint)
from footfall.bank.generation.dataset import TrainDataParams, TrainingClip, load_training_clips, make_batch
from footfall.bank.generation.objective import OBJECTIVES, TIMESTEP_SAMPLERS
from footfall.engine.progress import CountProgress

ADAPTER_CONFIG = "adapter_config.json"
ADAPTER_WEIGHTS = "adapter_model.safetensors"
TRAINING_LOG = "training.json"
VALIDATION_DIR = "validation"
VALIDATION_TIMESTEPS = (0.1, 0.3, 0.5, 0.7, 0.9)  # those of stable-audio-tools' validation_step
# Linear layers of stable-audio-tools' transformer blocks: attention projections and the (GLU) feed-forward.
DIT_TARGET_MODULES = ("to_qkv", "to_q", "to_kv", "to_out", "ff.ff.0.proj", "ff.ff.2")


@dataclass(frozen=True)
class LoraTrainParams:
    """One LoRA training run (documented in config/default.toml, [lora_train])."""

    rank: int = 16
    alpha: float = 16.0
    dropout: float = 0.0
    target_modules: tuple[str, ...] = DIT_TARGET_MODULES
    lr: float = 1e-4
    weight_decay: float = 0.0
    steps: int = 2000
    batch: int = 8
    checkpoint_every: int = 250
    validate_every: int = 500
    validation_steps: int = 50
    validation_cfg_scale: float = 6.0
    clip_seconds: float = 0.0
    seed: int = 0
    device: str = "auto"
    precision: Literal["auto", "fp32", "bf16"] = "auto"
    data: TrainDataParams = field(default_factory=TrainDataParams)

    def __post_init__(self) -> None:
        if self.rank < 1 or self.alpha <= 0:
            raise ValueError("rank must be at least 1 and alpha positive")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError("dropout must be in [0, 1)")
        if not self.target_modules:
            raise ValueError("target_modules must name at least one Linear layer of the DiT")
        if self.lr <= 0 or self.weight_decay < 0:
            raise ValueError("lr must be positive and weight_decay not negative")
        if self.steps < 1 or self.batch < 1:
            raise ValueError("steps and batch must be at least 1")
        if self.checkpoint_every < 0 or self.validate_every < 0:
            raise ValueError("checkpoint_every and validate_every must not be negative (0: never)")
        if self.validation_steps < 1 or self.validation_cfg_scale < 0:
            raise ValueError("validation_steps must be at least 1 and validation_cfg_scale not negative")
        if self.clip_seconds < 0:
            raise ValueError("clip_seconds must not be negative (0: the model's sample_size)")
        if self.device not in ("auto", "cpu") and not re.fullmatch(r"cuda(:\d+)?", self.device):
            raise ValueError(f"device must be auto, cpu or cuda[:N], got {self.device!r}")


@dataclass(frozen=True)
class TrainSummary:
    out_dir: Path
    steps: int
    clips: int
    captions: tuple[str, ...]
    first_loss: float
    last_loss: float
    validation_loss: tuple[tuple[int, float], ...]
    seconds: float


def resolve_device(name: str) -> str:
    import torch

    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise BankError(f"--device {name}: no CUDA device is available here")
    return name


def window_samples(config: dict, model, clip_seconds: float) -> int:
    """Training window in samples: clip_seconds (or the model's sample_size), a multiple of the model's minimum."""
    unit = int(getattr(model, "min_input_length", 1) or 1)
    wanted = int(round(clip_seconds * config["sample_rate"])) if clip_seconds > 0 else int(config["sample_size"])
    return max(unit, -(-wanted // unit) * unit)


class LoraTrainer:
    """A model with trainable adapters, its optimiser, data and random state; one `step()` per batch."""

    def __init__(self, model, config: dict, clips: list[TrainingClip], params: LoraTrainParams, device: str):
        import torch
        from peft import LoraConfig, get_peft_model

        from footfall.bank.generation.model import dit_of

        self.params, self.device, self.config, self.clips = params, device, config, clips
        self.sample_rate = int(config["sample_rate"])
        self.window = window_samples(config, model, params.clip_seconds)
        pretransform = model.pretransform
        self.channels = int(pretransform.io_channels if pretransform is not None else config.get("audio_channels", 2))
        training = config.get("training") or {}
        self.cfg_dropout = float(training.get("cfg_dropout_prob", 0.1))
        self.timestep_sampler = str(training.get("timestep_sampler", "uniform"))
        self.timestep_options = dict(training.get("timestep_sampler_options") or {})
        self.objective = model.diffusion_objective
        if self.objective not in OBJECTIVES:
            raise BankError(f"diffusion_objective {self.objective!r}: not trainable here "
                            f"(known: {', '.join(OBJECTIVES)})")
        if self.timestep_sampler not in TIMESTEP_SAMPLERS:
            raise BankError(f"training.timestep_sampler {self.timestep_sampler!r}: unknown "
                            f"(known: {', '.join(TIMESTEP_SAMPLERS)})")
        self.captions = tuple(sorted({c.caption for c in clips}))
        self.autocast_bf16 = device.startswith("cuda") and params.precision in ("auto", "bf16")
        if params.precision == "bf16" and not device.startswith("cuda"):
            raise BankError("precision bf16 needs a CUDA device (on the CPU training runs in float32)")

        torch.manual_seed(params.seed)  # peft draws the adapters' A matrices from the global generator
        self.rng = np.random.Generator(np.random.PCG64(params.seed))
        lora = LoraConfig(r=params.rank, lora_alpha=params.alpha, lora_dropout=params.dropout,
                          target_modules=list(params.target_modules), bias="none")
        try:
            self.peft_dit = get_peft_model(dit_of(model), lora)
        except ValueError as exc:
            raise BankError(f"target_modules {list(params.target_modules)}: {str(exc).splitlines()[0]}") from None
        self.model = model.to(device)
        self.trainable = [p for _, p in self.peft_dit.named_parameters() if p.requires_grad]
        self.optimizer = torch.optim.AdamW(self.trainable, lr=params.lr, weight_decay=params.weight_decay)
        self.step_done = 0
        self.losses: list[float] = []
        self.validation_losses: list[tuple[int, float]] = []

    # --------------------------------------------------------------------------------------------- one step

    def _tensors(self, indices) -> tuple:
        import torch

        audio, metadata = make_batch(self.clips, indices, self.window, self.channels, self.sample_rate)
        return torch.from_numpy(audio).to(self.device), metadata

    def _latents_and_cond(self, audio, metadata):
        import torch

        with torch.no_grad():
            cond = self.model.conditioner(metadata, self.device)
            latents = self.model.pretransform.encode(audio) if self.model.pretransform is not None else audio
        return latents, cond

    def _loss(self, latents, cond, t, noise, cfg_dropout: float):
        import torch
        import torch.nn.functional as F

        from footfall.bank.generation.objective import noised_and_target

        noised, target = noised_and_target(latents, noise, t, self.objective)
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=self.autocast_bf16):
            output = self.model(noised, t, cond=cond, cfg_dropout_prob=cfg_dropout)
        return F.mse_loss(output.float(), target.float())

    def step(self) -> float:
        """One optimiser step on a random batch; returns its loss."""
        import torch

        from footfall.bank.generation.objective import sample_timesteps

        n = len(self.clips)
        indices = self.rng.permutation(n)[: self.params.batch] if self.params.batch <= n else \
            self.rng.integers(0, n, self.params.batch)
        audio, metadata = self._tensors(indices)
        self.peft_dit.train()
        latents, cond = self._latents_and_cond(audio, metadata)
        t = sample_timesteps(latents.shape[0], self.timestep_sampler, self.device, self.timestep_options)
        if self.model.dist_shift is not None:
            t = self.model.dist_shift.time_shift(t, audio.shape[2])  # the wrapper shifts by the audio length
        noise = torch.randn_like(latents)
        loss = self._loss(latents, cond, t, noise, self.cfg_dropout)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        self.step_done += 1
        value = float(loss.detach())
        self.losses.append(value)
        return value

    # ------------------------------------------------------------------------------------------ validation

    def _forked(self):
        import torch

        devices = [torch.device(self.device)] if self.device.startswith("cuda") else []
        return torch.random.fork_rng(devices=devices)

    def validation_loss(self) -> float:
        """Mean loss at fixed timesteps (0.1 .. 0.9) with fixed noise on a fixed batch: comparable across steps."""
        import torch

        n = len(self.clips)
        indices = np.linspace(0, n - 1, min(n, self.params.batch)).round().astype(int)
        with self._forked():
            torch.manual_seed(self.params.seed)
            audio, metadata = self._tensors(indices)
            self.peft_dit.eval()
            latents, cond = self._latents_and_cond(audio, metadata)
            values = []
            with torch.no_grad():
                for value in VALIDATION_TIMESTEPS:
                    t = torch.full((latents.shape[0],), value, device=self.device)
                    noise = torch.randn_like(latents)
                    values.append(float(self._loss(latents, cond, t, noise, 0.0)))
        return float(np.mean(values))

    def render_validation(self, directory: Path) -> list[Path]:
        """One clip per caption with the current adapters, as WAV files in `directory`."""
        import torch
        from stable_audio_tools.inference.generation import generate_diffusion_cond

        from footfall.bank.generation.model import quiet_output
        from footfall.sinks.audio_file import AudioFileSink

        directory.mkdir(parents=True, exist_ok=True)
        written = []
        self.peft_dit.eval()
        for caption in self.captions:
            lengths = [c.seconds_total(self.sample_rate) for c in self.clips if c.caption == caption]
            first = next(c for c in self.clips if c.caption == caption)
            conditioning = [{"prompt": caption, "seconds_start": 0, "seconds_total": int(np.median(lengths))}]
            # stable-audio-tools seeds torch's global generator, prints the seed and draws a tqdm bar: keep both
            # off our output and our generators.
            with self._forked(), quiet_output():
                with torch.no_grad(), torch.autocast("cuda", dtype=torch.bfloat16, enabled=self.autocast_bf16):
                    audio = generate_diffusion_cond(
                        self.model, steps=self.params.validation_steps, cfg_scale=self.params.validation_cfg_scale,
                        conditioning=conditioning, sample_size=self.window, sample_rate=self.sample_rate,
                        seed=self.params.seed, device=self.device)
            clip = audio[0].float().cpu().numpy().T
            path = directory / f"{_slug(first.surface)}-{_slug(first.footwear)}.wav"  # one caption per pair
            sink = AudioFileSink(path, self.sample_rate, channels=clip.shape[1])
            sink.write(clip)
            sink.close()
            written.append(path)
        return written

    # ------------------------------------------------------------------------------------- saving, resuming

    def save_adapter(self, directory: Path) -> None:
        with contextlib.redirect_stdout(io.StringIO()):
            self.peft_dit.save_pretrained(str(directory), safe_serialization=True)
        card = Path(directory) / "README.md"  # peft writes a Hugging Face model card; the adapter needs none
        if card.is_file():
            card.unlink()

    def fingerprint(self) -> dict:
        """What a checkpoint must match to be resumed: the adapters' shape and the data."""
        p = self.params
        return {"rank": p.rank, "alpha": p.alpha, "dropout": p.dropout, "target_modules": list(p.target_modules),
                "clips": len(self.clips), "captions": list(self.captions), "window": self.window}

    def trainer_state(self) -> dict:
        import torch

        state = {"step": self.step_done, "fingerprint": self.fingerprint(), "optimizer": self.optimizer.state_dict(),
                 "torch_rng": torch.get_rng_state(), "numpy_rng": _jsonable_rng(self.rng.bit_generator.state),
                 "losses": list(self.losses), "validation_losses": [list(v) for v in self.validation_losses]}
        if self.device.startswith("cuda"):
            state["cuda_rng"] = torch.cuda.get_rng_state(torch.device(self.device))
        return state

    def save_checkpoint(self, out_dir: Path) -> Path:
        directory = checkpoint_dir(out_dir, self.step_done)
        save_checkpoint(directory, self.save_adapter, self.trainer_state())
        return directory

    def resume(self, directory: Path) -> None:
        import torch
        from peft import set_peft_model_state_dict
        from safetensors.torch import load_file

        state = load_trainer_state(directory)
        if state.get("fingerprint") != self.fingerprint():
            difference = _difference(state.get("fingerprint"), self.fingerprint())
            raise CheckpointError(f"{directory}: made with other adapters or data ({difference})")
        try:
            weights = load_file(str(directory / ADAPTER_WEIGHTS))
        except (OSError, ValueError) as exc:
            raise CheckpointError(f"{directory / ADAPTER_WEIGHTS}: unreadable ({exc})") from None
        result = set_peft_model_state_dict(self.peft_dit, {k: v.to(self.device) for k, v in weights.items()})
        if getattr(result, "unexpected_keys", None):
            raise CheckpointError(f"{directory / ADAPTER_WEIGHTS}: keys that fit no adapter "
                                  f"({result.unexpected_keys[0]})")
        self.optimizer.load_state_dict(state["optimizer"])
        torch.set_rng_state(state["torch_rng"])
        if "cuda_rng" in state and self.device.startswith("cuda"):
            torch.cuda.set_rng_state(state["cuda_rng"], torch.device(self.device))
        self.rng.bit_generator.state = state["numpy_rng"]
        self.step_done = int(state["step"])
        self.losses = [float(v) for v in state["losses"]]
        self.validation_losses = [(int(s), float(v)) for s, v in state["validation_losses"]]


def _jsonable_rng(state: dict) -> dict:
    return json.loads(json.dumps(state))


def _difference(old: dict | None, new: dict) -> str:
    if not isinstance(old, dict):
        return "no fingerprint"
    keys = [k for k in new if old.get(k) != new[k]]
    return ", ".join(f"{k} {old.get(k)!r} now {new[k]!r}" for k in keys[:2]) or "unknown"


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:80] or "clip"


def _check_out_dir(out_dir: Path, resume: bool) -> Path | None:
    """The checkpoint to resume from (None: start afresh). Refuses to start over an existing run or adapter."""
    latest = latest_checkpoint(out_dir)
    if resume:
        if latest is None:
            raise BankError(f"{out_dir}: no checkpoint to resume from (expected {out_dir}/checkpoints/step-*)")
        return latest
    if latest is not None or (out_dir / ADAPTER_WEIGHTS).exists():
        raise BankError(f"{out_dir}: already holds an adapter or checkpoints (use --resume, or another directory)")
    if out_dir.exists() and not out_dir.is_dir():
        raise BankError(f"{out_dir}: exists and is not a directory")
    return None


def _write_log(out_dir: Path, trainer: LoraTrainer, data_dir: Path, model_spec: str, seconds: float) -> None:
    log = {
        "model": str(model_spec), "data": str(data_dir), "params": dataclasses.asdict(trainer.params),
        "device": trainer.device, "objective": trainer.objective, "window_samples": trainer.window,
        "sample_rate": trainer.sample_rate, "clips": len(trainer.clips),
        "clips_per_caption": {c: sum(1 for x in trainer.clips if x.caption == c) for c in trainer.captions},
        "steps": trainer.step_done, "losses": trainer.losses,
        "validation_losses": [list(v) for v in trainer.validation_losses], "seconds_this_run": round(seconds, 3),
    }
    tmp = out_dir / (TRAINING_LOG + ".partial")
    tmp.write_text(json.dumps(log, indent=1) + "\n")
    os.replace(tmp, out_dir / TRAINING_LOG)


def train_lora(data_dir: Path, model_spec: str, out_dir: Path, params: LoraTrainParams, resume: bool = False,
               progress: CountProgress | None = None, say: Callable[[str], None] = print) -> TrainSummary:
    """The whole run: data, model, adapters, `params.steps` steps with checkpoints and validation, the adapter."""
    from footfall.bank.generation.model import ModelSpec, load_dit_model

    start = time.perf_counter()
    out_dir = Path(out_dir)
    latest = _check_out_dir(out_dir, resume)
    device = resolve_device(params.device)
    loaded = load_dit_model(ModelSpec.parse(str(model_spec), device="cpu", dtype="fp32"))  # moved to device below
    model, config = loaded.model, loaded.config
    window = window_samples(config, model, params.clip_seconds)
    clips = load_training_clips(Path(data_dir), int(config["sample_rate"]), window, params.data)
    trainer = LoraTrainer(model, config, clips, params, device)
    out_dir.mkdir(parents=True, exist_ok=True)
    if latest is not None:
        trainer.resume(latest)
        say(f"resumed from {latest} (step {trainer.step_done})")
    say(f"{len(clips)} clips, {len(trainer.captions)} captions, window {window / trainer.sample_rate:.2f} s, "
        f"{sum(p.numel() for p in trainer.trainable):,} adapter weights, {device}")
    if not trainer.validation_losses and params.validate_every:
        trainer.validation_losses.append((trainer.step_done, trainer.validation_loss()))
    if progress is not None:
        progress.restart(trainer.step_done)
    while trainer.step_done < params.steps:
        loss = trainer.step()
        step = trainer.step_done
        if params.validate_every and (step % params.validate_every == 0 or step == params.steps):
            trainer.validation_losses.append((step, trainer.validation_loss()))
            trainer.render_validation(out_dir / VALIDATION_DIR / f"step-{step:08d}")
        if params.checkpoint_every and (step % params.checkpoint_every == 0 or step == params.steps):
            trainer.save_checkpoint(out_dir)
        if progress is not None:
            progress.note = f"loss {loss:.4f}"
            progress.advance(step)
            progress.draw()
    if progress is not None:
        progress.finish()
    trainer.save_adapter(out_dir)
    seconds = time.perf_counter() - start
    _write_log(out_dir, trainer, Path(data_dir), model_spec, seconds)
    return TrainSummary(out_dir, trainer.step_done, len(clips), trainer.captions,
                        trainer.losses[0] if trainer.losses else float("nan"),
                        trainer.losses[-1] if trainer.losses else float("nan"),
                        tuple(trainer.validation_losses), seconds)

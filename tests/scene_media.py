"""Scene test media made on the fly: a video of two shots (a green, grainy lawn; then brown, smooth planks) and a
tiny open_clip model taught those two surfaces, saved as safetensors in open_clip's folder layout."""
from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from footfall.engine.scene.labels import load_prompts

TINY_CLIP = {"embed_dim": 32,
             "vision_cfg": {"image_size": 32, "layers": 2, "width": 64, "patch_size": 8, "head_width": 32},
             "text_cfg": {"context_length": 16, "vocab_size": 49408, "width": 64, "heads": 2, "layers": 2}}


def lawn(h: int, w: int, rng: np.random.Generator, i: int = 0) -> np.ndarray:
    """Green grass: bright and dark blades (strong fine texture), drifting a little with i."""
    base = np.array([60, 150, 50], np.float32)
    noise = rng.normal(0, 35, (h, w, 1)).astype(np.float32)
    img = base + noise * np.array([0.6, 1.0, 0.5], np.float32)
    return np.clip(np.roll(img, i, axis=1), 0, 255).astype(np.uint8)


def planks(h: int, w: int, rng: np.random.Generator, i: int = 0) -> np.ndarray:
    """Brown boards: smooth, with a dark seam every 12 rows."""
    img = np.broadcast_to(np.array([150, 95, 50], np.float32), (h, w, 3)).copy()
    img[((np.arange(h) + i // 4) % 12) < 1] *= 0.6
    img += rng.normal(0, 2, (h, w, 1)).astype(np.float32)
    return np.clip(img, 0, 255).astype(np.uint8)


def two_scene_video(path: Path, seconds_each: float = 2.0, fps: int = 30, size: tuple[int, int] = (96, 64)) -> Path:
    """Lawn for `seconds_each`, then a cut to planks for as long (lossless, so the pictures are exact)."""
    w, h = size
    rng = np.random.default_rng(0)
    n = int(round(seconds_each * fps))
    with av.open(str(path), "w") as out:
        v = out.add_stream("libx264rgb", rate=fps)
        v.width, v.height, v.pix_fmt = w, h, "rgb24"
        v.options = {"qp": "0"}
        for i in range(2 * n):
            img = lawn(h, w, rng, i) if i < n else planks(h, w, rng, i)
            frame = av.VideoFrame.from_ndarray(img, format="rgb24")
            frame.pts, frame.time_base = i, Fraction(1, fps)
            for p in v.encode(frame):
                out.mux(p)
        for p in v.encode(None):
            out.mux(p)
    return path


def tiny_clip_folder(folder: Path, steps: int = 40, seed: int = 0) -> Path:
    """A tiny open_clip model trained for a few contrastive steps on lawn/planks pictures against the shipped grass
    and wood prompts, saved as `open_clip_config.json` + `open_clip_model.safetensors`."""
    import open_clip
    import torch
    from safetensors.torch import save_file

    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    model = open_clip.CLIP(**TINY_CLIP)
    tokenizer = open_clip.get_tokenizer(context_length=TINY_CLIP["text_cfg"]["context_length"])
    prompts = load_prompts()
    labels = ["grass", "wood"]
    texts = [prompts.texts(prompts.surface[name]) for name in labels]
    mean = torch.tensor([0.48145466, 0.4578275, 0.40821073]).view(3, 1, 1)
    std = torch.tensor([0.26862954, 0.26130258, 0.27577711]).view(3, 1, 1)

    def picture(k: int) -> torch.Tensor:
        img = (lawn if k == 0 else planks)(32, 32, rng, int(rng.integers(0, 64)))
        return (torch.from_numpy(img).permute(2, 0, 1).float() / 255.0 - mean) / std

    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    model.train()
    for _ in range(steps):
        ks = [0, 1] * 4
        images = torch.stack([picture(k) for k in ks])
        caps = tokenizer([texts[k][int(rng.integers(len(texts[k])))] for k in ks])
        img_f = torch.nn.functional.normalize(model.encode_image(images), dim=-1)
        txt_f = torch.nn.functional.normalize(model.encode_text(caps), dim=-1)
        logits = model.logit_scale.exp() * img_f @ txt_f.T
        same = torch.tensor(ks)[:, None] == torch.tensor(ks)[None, :]
        target = same.float() / same.float().sum(1, keepdim=True)
        loss = -(target * logits.log_softmax(1)).sum(1).mean() - (target.T * logits.T.log_softmax(1)).sum(1).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "open_clip_config.json").write_text(json.dumps({"model_cfg": TINY_CLIP, "preprocess_cfg": {}}))
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(folder / "open_clip_model.safetensors"))
    return folder


def burst_bank(surface: str, seed: int, tone_hz: float = 0.0):
    """A small bank of faded footstep-like bursts for one surface (noise, or a damped tone), sneaker, 4 variations."""
    from footfall.bank.sample_bank import Bank, BankEntry

    rng = np.random.default_rng(seed)
    sr, n, onset = 48000, 9600, 96
    t = np.arange(n) / sr
    clips, entries = [], []
    for v in range(4):
        body = np.sin(2 * np.pi * tone_hz * (1 + 0.05 * v) * t) if tone_hz else rng.normal(0, 1, n)
        env = np.exp(-t / 0.04) * np.clip((np.arange(n) - onset + 96) / 96, 0, 1)
        env[-480:] *= np.linspace(1, 0, 480)
        clip = (0.5 * body * env / np.abs(body * env).max()).astype(np.float32)
        clips.append(clip)
        entries.append(BankEntry(f"{surface}-{v}", surface, "sneaker", 1.0, onset, f"test:{surface}", variation=v))
    return Bank.from_clips(sr, clips, entries, name=f"{surface}-bank")


def banks_folder(folder: Path) -> Path:
    """A folder of two banks: grass (noise bursts) and wood (damped tones)."""
    from footfall.bank.format import save_bank

    folder.mkdir(parents=True, exist_ok=True)
    save_bank(burst_bank("grass", 1), folder / "grass-sneaker")
    save_bank(burst_bank("wood", 2, tone_hz=420.0), folder / "wood-sneaker")
    return folder

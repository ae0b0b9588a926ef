"""CLIP in its own process, so that its thousands of small torch calls never hold the engine's GIL.

Why: on a thread, a CLIP forward pass takes and gives back the GIL at every op; niced so that pose and sound go
first, it is often descheduled while holding it, and the live mixer thread then misses its blocks (measured: 3-5
underruns in a 13 s live run with ViT-B-32, none without). A process has its own interpreter. It loads the model
(the same `load_clip`), embeds the prompts once and sends their embeddings back, then embeds each picture it is
sent. Pictures are decimated on the sending thread to at most `SEND_SIDE` pixels a side (CLIP looks at 224), so a
720p frame crosses as about 0.3 MB.
"""
from __future__ import annotations

import multiprocessing as mp
import os
import time

import numpy as np

from footfall.engine.scene.clip_model import ClipUnavailable
from footfall.engine.scene.labels import Prompts

SEND_SIDE = 448
READY_TIMEOUT_S = 600.0


def _child(conn, spec: str, prompts: Prompts, threads: int, nice: int) -> None:  # pragma: no cover - other process
    try:
        os.nice(nice)
    except OSError:
        pass
    try:
        from footfall.engine.scene.clip_model import load_clip

        embedder = load_clip(spec, threads=threads)

        def label_embeddings(labels: dict) -> tuple[list[str], np.ndarray]:
            rows = []
            for phrases in labels.values():
                e = embedder.embed_texts(prompts.texts(phrases)).mean(axis=0)
                rows.append(e / max(float(np.linalg.norm(e)), 1e-12))
            return list(labels), np.stack(rows)

        conn.send(("ready", embedder.name, embedder.logit_scale, label_embeddings(prompts.surface),
                   label_embeddings(prompts.footwear)))
    except ClipUnavailable as exc:
        conn.send(("error", str(exc)))
        return
    except Exception as exc:  # noqa: BLE001 - reported as one line by the parent
        conn.send(("error", f"CLIP model {spec!r}: {type(exc).__name__}: {exc}"))
        return
    while True:
        try:
            image = conn.recv()
        except EOFError:
            return
        if image is None:
            return
        conn.send(embedder.embed_images([image])[0])


def decimate(image: np.ndarray, side: int = SEND_SIDE) -> np.ndarray:
    """A contiguous copy of every k-th pixel, k the smallest step that brings the longer side to at most `side`."""
    k = max(1, -(-max(image.shape[0], image.shape[1]) // side))
    return np.ascontiguousarray(image[::k, ::k, :3])


class ClipProcess:
    """The child process and its pipe. `embed` is called from one thread (the scene worker)."""

    def __init__(self, spec: str, prompts: Prompts, threads: int = 1, nice: int = 10) -> None:
        ctx = mp.get_context("spawn")
        self._conn, child = ctx.Pipe()
        self._proc = ctx.Process(target=_child, args=(child, spec, prompts, threads, nice), daemon=True,
                                 name="footfall-clip")
        self._started = time.perf_counter()
        self._proc.start()
        child.close()
        self.spec = spec
        self.load_s = 0.0

    def wait_ready(self):
        """(name, logit scale, (surface names, embeddings), (footwear names, embeddings)); ClipUnavailable if the
        model could not be loaded."""
        if not self._conn.poll(READY_TIMEOUT_S):
            self.close()
            raise ClipUnavailable(f"CLIP model {self.spec!r}: not loaded after {READY_TIMEOUT_S:.0f} s")
        try:
            message = self._conn.recv()
        except EOFError:
            self.close()
            raise ClipUnavailable(f"CLIP model {self.spec!r}: its process ended while loading") from None
        if message[0] == "error":
            self.close()
            raise ClipUnavailable(message[1])
        self.load_s = time.perf_counter() - self._started
        return message[1:]

    def embed(self, image: np.ndarray) -> np.ndarray:
        self._conn.send(decimate(image))
        try:
            return self._conn.recv()
        except EOFError:
            raise RuntimeError("the CLIP process ended") from None

    def close(self) -> None:
        try:
            self._conn.send(None)
        except (OSError, ValueError):
            pass
        self._proc.join(5.0)
        if self._proc.is_alive():
            self._proc.terminate()
            self._proc.join(5.0)
        self._conn.close()

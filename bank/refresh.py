"""The scene-driven bank refresher: on a scene change, the bank for the new surface and footwear, never from disk in
the audio path.

Banks live in a folder of bank directories (`--scenes BANKS_DIR`, each in the format of `bank/FORMAT.md`). For a
scene the refresher picks the bank made for its surface and footwear (then one for the surface), loads it on a
background thread and hands the loaded `Bank` over; banks it has loaded stay in memory (`keep_loaded`), so coming
back to a scene swaps at once. A scene no bank fits is asked of a renderer: a request file is written into
`BANKS_DIR/requests/` (for a GPU process or another machine that watches it) and, when `[refresh] render_command` is
set, that command is run (e.g. `footfall bank render --model M --surface {surface} --footwear {footwear}
-o {out}`); the folder `{out}` is watched until a bank appears there. Meanwhile the nearest bank the refresher has
plays: one loaded for the same surface, else the opening bank (the procedural default holds every surface of the
vocabulary).
Rendering a file waits for loads and renders (`wait=True`: the output is the same on every run); live never waits.
"""
from __future__ import annotations

import json
import queue
import re
import subprocess
import threading
import time
from collections import OrderedDict
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from footfall.bank.format import MANIFEST_NAME, BankError, load_bank, read_manifest
from footfall.bank.sample_bank import Bank

REQUESTS_DIR = "requests"


@dataclass(frozen=True)
class RefreshParams:
    render_command: tuple[str, ...] = ()  # argv with {surface} {footwear} {out}; () = only write the request file
    render_timeout_s: float = 900.0  # a requested bank that has not appeared after this long is given up
    watch_interval_s: float = 0.5  # how often a requested bank's folder is looked at
    keep_loaded: int = 4  # banks kept in memory besides the opening one

    def __post_init__(self) -> None:
        if not all(isinstance(a, str) and a for a in self.render_command):
            raise ValueError("refresh render_command must be a list of non-empty strings")
        if self.render_timeout_s <= 0 or self.watch_interval_s <= 0:
            raise ValueError("refresh render_timeout_s and watch_interval_s must be > 0")
        if self.keep_loaded < 1:
            raise ValueError("refresh keep_loaded must be at least 1")


@dataclass(frozen=True)
class BankInfo:
    """What a bank directory holds, from its manifest alone."""

    path: Path
    name: str
    pairs: frozenset[tuple[str, str]]

    @property
    def surfaces(self) -> frozenset[str]:
        return frozenset(s for s, _ in self.pairs)


class BankCatalog:
    """The bank directories in a folder (one level down), by what they hold. Unreadable ones are skipped."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        if not self.folder.is_dir():
            raise BankError(f"{self.folder}: no such folder of banks")
        self.banks: list[BankInfo] = []
        self.skipped: list[str] = []
        self.scan()

    def scan(self) -> None:
        banks, skipped = [], []
        for d in sorted(p for p in self.folder.iterdir() if p.is_dir() and (p / MANIFEST_NAME).is_file()):
            try:
                _, name, samples = read_manifest(d)
            except BankError as exc:
                skipped.append(str(exc))
                continue
            banks.append(BankInfo(d, name, frozenset((s.entry.surface, s.entry.footwear) for s in samples)))
        self.banks, self.skipped = banks, skipped

    def best(self, surface: str, footwear: str) -> BankInfo | None:
        """The bank made for this surface and footwear, else the first holding the surface, else None."""
        for b in self.banks:
            if (surface, footwear) in b.pairs:
                return b
        for b in self.banks:
            if surface in b.surfaces:
                return b
        return None


def request_name(surface: str, footwear: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", f"{surface}-{footwear}")


class QueueRenderer:
    """Asks for a bank that does not exist yet: a request file in `folder/requests/`, the configured command run
    (if any), and the bank's folder watched until it holds a bank. Runs on its own thread per request."""

    def __init__(self, folder: Path, params: RefreshParams) -> None:
        self.folder, self.params = Path(folder), params
        self.failures: list[str] = []

    def request(self, surface: str, footwear: str) -> Future:
        """A future of the rendered bank's directory (BankError when it does not come). Nothing is written on the
        caller's thread (the mixer's, live)."""
        future: Future = Future()
        threading.Thread(target=self._render, args=(surface, footwear, future), daemon=True,
                         name="footfall-bank-render").start()
        return future

    def _render(self, surface: str, footwear: str, future: Future) -> None:
        try:
            p = self.params
            deadline = time.monotonic() + p.render_timeout_s
            out = self.folder / request_name(surface, footwear)
            req = self.folder / REQUESTS_DIR
            req.mkdir(exist_ok=True)
            (req / f"{request_name(surface, footwear)}.json").write_text(json.dumps(
                {"surface": surface, "footwear": footwear, "out": str(out), "requested_at": time.time()}) + "\n")
            if p.render_command:
                argv = [a.format(surface=surface, footwear=footwear, out=str(out)) for a in p.render_command]
                try:
                    done = subprocess.run(argv, capture_output=True, text=True, timeout=p.render_timeout_s)
                except (OSError, subprocess.TimeoutExpired) as exc:
                    raise BankError(f"bank render for {surface}/{footwear}: {argv[0]}: {exc}") from None
                if done.returncode != 0:
                    last = (done.stderr.strip().splitlines() or ["no message"])[-1]
                    raise BankError(f"bank render for {surface}/{footwear} failed (exit {done.returncode}): {last}")
            while not (out / MANIFEST_NAME).is_file():
                if time.monotonic() > deadline:
                    raise BankError(f"bank render for {surface}/{footwear}: nothing appeared in {out}")
                time.sleep(p.watch_interval_s)
            future.set_result(out)
        except BaseException as exc:  # noqa: BLE001 - handed to whoever waits, as one line
            error = exc if isinstance(exc, BankError) else BankError(f"bank render for {surface}/{footwear}: {exc}")
            self.failures.append(str(error))
            future.set_exception(error)


@dataclass(frozen=True, eq=False)
class Swap:
    """A bank handed to the mixer for a scene: when the scene began, which bank, how it was had (cached in memory,
    loaded from disk, rendered, or the nearest one meanwhile)."""

    t_ns: int
    bank: Bank
    how: str


class BankRefresher:
    """Chooses and loads banks for scenes; `bank_for` is called by the mixer stage on each scene change and `ready`
    on each block, both without touching the disk on the caller's thread unless `wait` (rendering a file)."""

    def __init__(self, folder: Path | None, opening: Bank, params: RefreshParams = RefreshParams(),
                 renderer: QueueRenderer | None = None) -> None:
        self.params = params
        self.catalog = BankCatalog(folder) if folder is not None else None
        self.renderer = renderer if renderer is not None or folder is None else QueueRenderer(folder, params)
        self.opening = opening
        self.current = opening
        self._loaded: OrderedDict[Path, Bank] = OrderedDict()
        self._loader = ThreadPoolExecutor(max_workers=1, thread_name_prefix="footfall-bank-load")
        self._ready: queue.SimpleQueue = queue.SimpleQueue()
        self._wanted: tuple[str, str] | None = None
        self._rendering: dict[tuple[str, str], Future] = {}
        self._waiting = False
        self.errors: list[str] = []

    def close(self) -> None:
        self._loader.shutdown(wait=False, cancel_futures=True)

    def open(self, surface: str, footwear: str) -> Bank:
        """The opening bank for the configured sound: the folder's bank for it if there is one (loaded now)."""
        info = self.catalog.best(surface, footwear) if self.catalog is not None else None
        if info is not None:
            self.opening = self.current = self._load(info.path)
        return self.current

    def bank_for(self, t_ns: int, surface: str, footwear: str, wait: bool = False) -> Swap | None:
        """The bank to play from `t_ns` on, if it differs from the current one and is at hand (or, with `wait`,
        once loaded or rendered); otherwise a load or a render starts in the background and `ready` hands it over."""
        self._wanted = (surface, footwear)
        info = self.catalog.best(surface, footwear) if self.catalog is not None else None
        if self.renderer is not None and (info is None or (surface, footwear) not in info.pairs):
            self._render(surface, footwear, t_ns, wait)  # meanwhile (not waiting): a bank for the surface, if any
            if wait:
                info = self.catalog.best(surface, footwear)
        if info is not None:
            cached = self._loaded.get(info.path)
            if cached is not None:
                self._loaded.move_to_end(info.path)
                return self._swap(t_ns, cached, "cached")
            if wait:
                return self._swap(t_ns, self._load(info.path), "loaded")
            self._loader.submit(self._load_for, info.path, (surface, footwear), t_ns)
            return self._nearest(t_ns, surface, exclude=info.path)
        return self._nearest(t_ns, surface)

    def ready(self) -> Swap | None:
        """A bank loaded in the background for the scene still wanted (older ones are dropped), or None."""
        swap = None
        while True:
            try:
                item = self._ready.get_nowait()
            except queue.Empty:
                return swap
            key, t_ns, bank = item
            if key == self._wanted and bank is not self.current:
                swap = self._swap(t_ns, bank, "loaded")

    def _swap(self, t_ns: int, bank: Bank, how: str) -> Swap | None:
        if bank is self.current:
            return None
        self.current = bank
        return Swap(t_ns, bank, how)

    def _nearest(self, t_ns: int, surface: str, exclude: Path | None = None) -> Swap | None:
        """Meanwhile: a loaded bank for the surface, else the opening bank if it has the surface (`exclude`: the
        one loading now, which `ready` hands over)."""
        if surface in self.current.surfaces:
            return None
        for path, bank in reversed(list(self._loaded.items())):
            if path != exclude and surface in bank.surfaces:
                return self._swap(t_ns, bank, "nearest")
        if surface in self.opening.surfaces:
            return self._swap(t_ns, self.opening, "nearest")
        return None

    def _load(self, path: Path) -> Bank:
        bank = self._loaded.get(path)
        if bank is None:
            bank = load_bank(path)
            self._loaded[path] = bank
            while len(self._loaded) > self.params.keep_loaded:
                self._loaded.popitem(last=False)
        return bank

    def _load_for(self, path: Path, key: tuple[str, str], t_ns: int) -> None:
        try:
            self._ready.put((key, t_ns, self._load(path)))
        except BankError as exc:
            self.errors.append(str(exc))

    def _render(self, surface: str, footwear: str, t_ns: int, wait: bool) -> Path | None:
        """Asks the renderer for this bank once; with `wait`, until it is there (then the catalog is rescanned)."""
        key = (surface, footwear)
        future = self._rendering.get(key)
        if future is None:
            future = self._rendering[key] = self.renderer.request(surface, footwear)
            future.add_done_callback(lambda f, key=key: self._rendered(f, key, t_ns))
        if not wait:
            return None
        self._waiting = True
        try:
            path = future.result()
        except BankError as exc:
            self.errors.append(str(exc))
            return None
        finally:
            self._waiting = False
        self.catalog.scan()
        return path

    def _rendered(self, future: Future, key: tuple[str, str], t_ns: int) -> None:
        """A background render finished: load it for the scene that asked (the catalog learns of it too)."""
        if future.exception() is not None:
            return
        if not self._waiting:
            self.catalog.scan()
            self._loader.submit(self._load_for, future.result(), key, t_ns)

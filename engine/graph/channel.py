"""Bounded channels between stages, with the edge policy named at construction.

`block`: a full channel makes the writer wait (offline rendering: nothing is ever dropped).
`latest`: a full channel drops its oldest item to take the new one (the live video edge: latency stays bounded).
With `keep`, only items it rejects are ever dropped (video frames); the ones it keeps (control messages, end of
stream) are never dropped and may stand beyond the capacity, which is the frames' bound.
Closing lets readers drain what is left and then stop; cancelling wakes every reader and writer at once.
"""
from __future__ import annotations

import threading
from collections import deque
from typing import Callable, Generic, Iterator, Literal, TypeVar

T = TypeVar("T")
Policy = Literal["block", "latest"]


class ChannelClosed(Exception):
    """Raised to a writer of a closed channel, and to a reader once a closed channel is drained."""


class Cancelled(Exception):
    """The graph was cancelled: stop now, without draining."""


class Channel(Generic[T]):
    def __init__(self, name: str, capacity: int, policy: Policy = "block",
                 keep: Callable[[T], bool] | None = None) -> None:
        if capacity < 1:
            raise ValueError(f"channel {name}: capacity must be at least 1")
        if policy not in ("block", "latest"):
            raise ValueError(f"channel {name}: unknown policy {policy!r}")
        self.name = name
        self.capacity = capacity
        self.policy = policy
        self.keep = keep
        self._items: deque[T] = deque()
        self._cond = threading.Condition()
        self._closed = False
        self._cancelled = False
        self.dropped = 0

    def put(self, item: T) -> None:
        with self._cond:
            while True:
                if self._cancelled:
                    raise Cancelled(self.name)
                if self._closed:
                    raise ChannelClosed(self.name)
                if len(self._items) < self.capacity:
                    break
                if self.policy == "latest":
                    self._drop_oldest()
                    break
                self._cond.wait()
            self._items.append(item)
            self._cond.notify_all()

    def _drop_oldest(self) -> None:
        """Drops the oldest droppable item; with none (all kept), the new item simply joins them."""
        if self.keep is None:
            self._items.popleft()
            self.dropped += 1
            return
        for i, old in enumerate(self._items):
            if not self.keep(old):
                del self._items[i]
                self.dropped += 1
                return

    def get(self, timeout: float | None = None) -> T:
        """The next item; ChannelClosed once closed and drained; TimeoutError if `timeout` passes first."""
        with self._cond:
            while not self._items:
                if self._cancelled:
                    raise Cancelled(self.name)
                if self._closed:
                    raise ChannelClosed(self.name)
                if not self._cond.wait(timeout):
                    raise TimeoutError(self.name)
            if self._cancelled:
                raise Cancelled(self.name)
            item = self._items.popleft()
            self._cond.notify_all()
            return item

    def __iter__(self) -> Iterator[T]:
        while True:
            try:
                yield self.get()
            except ChannelClosed:
                return

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def cancel(self) -> None:
        with self._cond:
            self._cancelled = True
            self._cond.notify_all()

    def __len__(self) -> int:
        with self._cond:
            return len(self._items)

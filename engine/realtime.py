"""Real-time priority for the threads the sound card waits on (the mixer and the device callback).

Why: on a busy machine the OS may leave a normal thread unscheduled for longer than a 5 ms block, and the card then
plays silence. Where the system allows it (Linux SCHED_FIFO for root or an rtprio limit, as JACK and PipeWire clients
use it), those two threads are raised; elsewhere they run as before. Both threads spend their time waiting, so a
real-time priority costs the other threads nothing measurable.
"""
from __future__ import annotations

import os

PRIORITY = 10  # low among real-time priorities: above every normal thread, below the kernel's own


def raise_this_thread(priority: int = PRIORITY) -> bool:
    """Puts the calling thread under SCHED_FIFO at `priority`; False where not permitted or not supported."""
    try:
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(priority))  # 0: the calling thread (Linux)
        return True
    except (AttributeError, OSError):
        return False

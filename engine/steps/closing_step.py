"""The closing step of a stop: the trailing foot brought up and set down beside the standing one.

The heel-lead envelope finds a step where the landing foot ends up ahead of the body, so the last step of a stop,
which never leads, makes no peak there. It shows instead as a foot that has come forward and then rests together
with the other foot relative to the hips (the body has stopped over them), at the other foot's height (it is down,
not held up).
"""
from __future__ import annotations

import numpy as np


def closing_foot(lead: np.ndarray, height: np.ndarray, k: int, rise: float, still: float,
                 level: float) -> tuple[int, float, int] | None:
    """(foot, how far it came forward, index of its rearmost point) for the foot that comes to rest at sample k, or
    None.

    lead, height: (n, 2) each heel's position along the direction of travel and its height, in leg lengths, from
    before k to the end of the hold (k + 1 or more samples). The foot must have come forward by at least `rise` since
    its rearmost point before k without having been further ahead than where it rests, and be still (within `still`)
    from k on but not from k - 1 on; the other foot must be still from k on too, and the two at one height (within
    `level`) throughout.
    """
    if not 1 <= k < lead.shape[0] - 1:
        raise ValueError("k must leave samples before it and a hold after it")
    if not (np.all(np.isfinite(lead)) and np.all(np.isfinite(height))):
        return None
    if np.any(np.abs(lead[k:] - lead[k]) > still) or np.any(np.abs(height[k:, 0] - height[k:, 1]) > level):
        return None
    for foot in (0, 1):
        x = lead[:, foot]
        if np.all(np.abs(x[k - 1:-1] - x[k - 1]) <= still):
            continue  # it was already at rest a sample earlier
        low = int(np.argmin(x[:k]))
        if x[k] - x[low] >= rise and x[k] >= x[low:k].max() - still:
            return foot, float(x[k] - x[low]), low
    return None

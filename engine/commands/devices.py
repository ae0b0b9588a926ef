"""`footfall devices`: the cameras and sound-card outputs `footfall live` can use."""
from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("devices", help="list cameras and audio outputs for `footfall live`",
                       description="Lists the cameras (use as `footfall live camera:N`) and the sound-card outputs "
                       "(use as `--device INDEX` or a part of the name).")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from footfall.sources.camera import list_cameras

    cameras = list_cameras()
    print("cameras:")
    print("\n".join(f"  {c}" for c in cameras) if cameras else "  none")
    print("audio outputs:")
    try:
        from footfall.sinks.sound_card import output_devices

        outputs = output_devices()
    except OSError as exc:  # sounddevice raises OSError when the PortAudio library itself is missing
        print(f"  none (PortAudio: {exc})")
        return 0
    print("\n".join(f"  {o}" for o in outputs) if outputs else "  none")
    return 0

"""config/default.toml documents every parameter of every component with the code's own default: one table per
frozen parameter object, its keys exactly the fields, nested tables for nested objects."""
import dataclasses
import importlib

import pytest

from footfall.engine import config as cfg

SECTIONS = [  # (module, class, path in default.toml)
    ("footfall.engine.render", "RenderParams", ("render",)),
    ("footfall.sources.video_file", "VideoSourceParams", ("source",)),
    ("footfall.engine.pose.mediapipe_pose", "PoseParams", ("pose",)),
    ("footfall.engine.pose.person_tracker", "PersonTrackerParams", ("pose", "tracking")),
    ("footfall.engine.steps.detector", "StepParams", ("steps",)),
    ("footfall.engine.mixer.mixer", "MixerParams", ("mixer",)),
    ("footfall.engine.steps.contact3d", "Contact3DParams", ("steps3d",)),
    ("footfall.engine.serve.service", "ServeParams", ("serve",)),
    ("footfall.engine.serve.intake", "IntakeLimits", ("serve", "limits")),
    ("footfall.sinks.sound_card", "SoundCardParams", ("sound_card",)),
    ("footfall.sources.capture", "CaptureParams", ("capture",)),
    ("footfall.engine.live", "LiveParams", ("live",)),
    ("footfall.bank.generation.lora_train", "LoraTrainParams", ("lora_train",)),
    ("footfall.bank.generation.dataset", "TrainDataParams", ("lora_train", "data")),
    ("footfall.bank.generation.render", "RenderParams", ("bank_render",)),
    ("footfall.bank.generation.slicing", "SliceParams", ("bank_render", "slicing")),
    ("footfall.engine.scene.stage", "SceneParams", ("scene",)),
    ("footfall.engine.scene.cuts", "CutParams", ("scene", "cuts")),
    ("footfall.engine.scene.tracker", "SceneTrackerParams", ("scene", "tracker")),
    ("footfall.bank.refresh", "RefreshParams", ("refresh",)),
]


def _cls(module: str, name: str):
    return getattr(importlib.import_module(module), name)


@pytest.mark.parametrize("module, name, path", SECTIONS, ids=[".".join(s[2]) for s in SECTIONS])
def test_defaults_are_documented_as_they_are(module, name, path):
    cls = _cls(module, name)
    table = cfg.read_preset("default")
    for key in path:
        table = table[key]
    assert set(table) == {f.name for f in dataclasses.fields(cls)}, f"[{'.'.join(path)}] against {name}"
    default = cls()
    for key, value in table.items():
        if isinstance(value, list):  # TOML arrays are the code's tuples
            value = tuple(value)
        if not isinstance(value, dict):
            assert value == getattr(default, key), f"[{'.'.join(path)}] {key}"


def test_every_table_of_default_toml_is_checked():
    def tables(table, prefix=()):
        for key, value in table.items():
            if isinstance(value, dict):
                yield prefix + (key,)
                yield from tables(value, prefix + (key,))

    assert set(tables(cfg.read_preset("default"))) == {s[2] for s in SECTIONS}

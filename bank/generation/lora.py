"""LoRA adapters on a loaded Stable Audio model through peft: several at once, each at its own strength.

Every adapter file, whatever its format (`lora_files.py`), becomes one peft adapter on the model's Linear layers.
Its per-layer scaling (alpha / rank) is folded into B and its rank zero-padded to the largest in the file, which
leaves B @ A exactly as the file means it, so one peft LoraConfig (r = lora_alpha = that rank, scaling 1) holds it.
A strength multiplies the scaling (peft's `set_scale`); strength 0 takes the adapter out of the forward pass, so
switching adapters or mixing them is a matter of strengths, without reloading anything.

On the command line an adapter is `PATH[:STRENGTH]` (strength default 1.0).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from footfall.bank.generation.lora_files import AdapterWeights, LoraError, read_adapter
from footfall.bank.generation.model import LoadedModel


@dataclass(frozen=True)
class LoraRequest:
    """An adapter to apply: a peft directory or a LoRA file, at a strength (any real number; 0 is off)."""

    path: Path
    strength: float = 1.0

    def __post_init__(self) -> None:
        if not isinstance(self.strength, (int, float)) or self.strength != self.strength:
            raise ValueError(f"{self.path}: LoRA strength must be a number")

    @classmethod
    def parse(cls, text: str) -> "LoraRequest":
        """`PATH` or `PATH:STRENGTH` (a path that itself ends in ':<number>' needs an explicit ':1')."""
        head, sep, tail = text.rpartition(":")
        if sep:
            try:
                return cls(Path(head), float(tail))
            except ValueError:
                pass
        return cls(Path(text), 1.0)

    def __str__(self) -> str:
        return f"{self.path}:{self.strength:g}"


@dataclass(frozen=True)
class AppliedAdapter:
    """An adapter in the model: its peft name, where it came from and at what strength it plays now."""

    name: str
    path: Path
    format: str
    sha256: str
    rank: int
    layers: int
    strength: float

    def provenance(self) -> str:
        return f"{self.path.name}@{self.sha256[:12]}*{self.strength:g}"


class LoraStack:
    """The adapters applied to one LoadedModel. `set_strengths` switches or mixes them."""

    def __init__(self, loaded: LoadedModel) -> None:
        self.loaded = loaded
        self._adapters: dict[str, AppliedAdapter] = {}

    @property
    def adapters(self) -> tuple[AppliedAdapter, ...]:
        return tuple(self._adapters.values())

    def add(self, request: LoraRequest) -> AppliedAdapter:
        """Read, check and inject one adapter at its strength."""
        weights = read_adapter(request.path, self.loaded.model)
        name = f"footfall_{len(self._adapters)}"
        _inject(self.loaded, weights, name)
        rank = max(weights.ranks)
        self._adapters[name] = AppliedAdapter(name, request.path, weights.format, weights.sha256, rank,
                                              len(weights.layers), float(request.strength))
        self._activate()
        return self._adapters[name]

    def set_strengths(self, strengths: dict[str, float]) -> None:
        """New strengths by adapter name (others keep theirs); 0 switches an adapter off."""
        unknown = sorted(set(strengths) - set(self._adapters))
        if unknown:
            raise ValueError(f"no adapter named {unknown[0]!r} (have: {', '.join(self._adapters) or 'none'})")
        for name, strength in strengths.items():
            self._adapters[name] = _replace_strength(self._adapters[name], float(strength))
        self._activate()

    def solo(self, name: str, strength: float = 1.0) -> None:
        """Only `name` plays, at `strength`."""
        self.set_strengths({n: (strength if n == name else 0.0) for n in self._adapters} | {name: strength})

    def _activate(self) -> None:
        from peft.tuners.lora.layer import LoraLayer

        active = [a.name for a in self._adapters.values() if a.strength != 0.0]
        for module in self.loaded.model.modules():
            if isinstance(module, LoraLayer):
                for adapter in self._adapters.values():
                    module.set_scale(adapter.name, adapter.strength)
                if _takes_inference_mode():
                    module.set_adapter(active, inference_mode=True)
                else:
                    module.set_adapter(active)
                    module.requires_grad_(False)


def apply_loras(loaded: LoadedModel, requests: list[LoraRequest] | tuple[LoraRequest, ...]) -> LoraStack:
    """All `requests` on `loaded`, in order."""
    stack = LoraStack(loaded)
    for request in requests:
        stack.add(request)
    return stack


def _replace_strength(adapter: AppliedAdapter, strength: float) -> AppliedAdapter:
    from dataclasses import replace

    return replace(adapter, strength=strength)


def _takes_inference_mode() -> bool:
    import inspect

    from peft.tuners.tuners_utils import BaseTunerLayer

    return "inference_mode" in inspect.signature(BaseTunerLayer.set_adapter).parameters


def _inject(loaded: LoadedModel, weights: AdapterWeights, name: str) -> None:
    import torch
    from peft import LoraConfig, inject_adapter_in_model

    rank = max(weights.ranks)
    config = LoraConfig(r=rank, lora_alpha=rank, target_modules=sorted(weights.layers), lora_dropout=0.0,
                        bias="none")
    model = loaded.model
    try:
        inject_adapter_in_model(config, model, adapter_name=name)
    except (ValueError, TypeError, RuntimeError) as exc:
        raise LoraError(f"{weights.path}: peft cannot apply it ({str(exc).splitlines()[0][:160]})") from None
    with torch.no_grad():
        for module_name, (a, b, scaling) in weights.layers.items():
            layer = model.get_submodule(module_name)
            r = a.shape[0]
            pad_a = torch.zeros(rank, a.shape[1])
            pad_b = torch.zeros(b.shape[0], rank)
            pad_a[:r] = a
            pad_b[:, :r] = b * scaling
            target_a, target_b = layer.lora_A[name].weight, layer.lora_B[name].weight
            target_a.copy_(pad_a.to(target_a.device, target_a.dtype))
            target_b.copy_(pad_b.to(target_b.device, target_b.dtype))

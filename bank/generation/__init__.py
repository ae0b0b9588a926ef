"""Footstep banks generated with Stable Audio (stable-audio-tools) and LoRA adapters: model loading, adapters in
the formats people have (peft, stable-audio-tools, LoRAW), prompts from the vocabulary, slicing generated clips into
single steps, `footfall bank render`, and `footfall bank train-lora`, which trains such adapters on recordings.
Nothing here runs in the audio path: banks are rendered ahead."""

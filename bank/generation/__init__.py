"""Footstep banks from Stable Audio: rendering with LoRA adapters, and training those adapters on recordings."""

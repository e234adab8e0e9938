"""Synthetic registry generator: a realistic, deterministic registry and its books of funds
in the import format."""

from tuopin.synth.config import SynthConfig
from tuopin.synth.generate import SynthSummary, generate, generate_tables

__all__ = ["SynthConfig", "SynthSummary", "generate", "generate_tables"]

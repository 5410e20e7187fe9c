"""Batcher: run large sets of LLM prompts through provider batch APIs."""
__version__ = "0.1.0"

"""Offline token counting: tiktoken with vocabularies shipped in ``resources/tokenizers``."""

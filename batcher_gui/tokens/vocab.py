"""The tokenizer vocabularies, loaded from ``resources/tokenizers`` (never downloaded).

tiktoken fetches its vocabularies from the internet on first use and caches them in a temporary
folder. Batcher must work offline and frozen, so it builds the same ``tiktoken.Encoding`` from
files it ships gzipped (made by ``tools/make_vocab.py``), checked against the SHA-256 tiktoken
itself checks (of the uncompressed file). The patterns and special tokens are tiktoken's
(``tiktoken_ext/openai_public.py``).
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import threading
from dataclasses import dataclass

import tiktoken

from batcher_gui.paths import resource

ENDOFTEXT, ENDOFPROMPT = "<|endoftext|>", "<|endofprompt|>"
FIM_PREFIX, FIM_MIDDLE, FIM_SUFFIX = "<|fim_prefix|>", "<|fim_middle|>", "<|fim_suffix|>"

_O200K_PATTERN = "|".join([
    r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",  # noqa: E501
    r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",  # noqa: E501
    r"""\p{N}{1,3}""",
    r""" ?[^\s\p{L}\p{N}]+[\r\n/]*""",
    r"""\s*[\r\n]+""",
    r"""\s+(?!\S)""",
    r"""\s+""",
])
_CL100K_PATTERN = (r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+"""
                   r"""| ?[^\s\p{L}\p{N}]++[\r\n]*+|\s++$|\s*[\r\n]|\s+(?!\S)|\s""")


@dataclass(frozen=True, slots=True)
class Vocabulary:
    pattern: str
    special_tokens: dict[str, int]
    sha256: str  # of the .tiktoken file, as tiktoken checks it


VOCABULARIES: dict[str, Vocabulary] = {
    "o200k_base": Vocabulary(
        _O200K_PATTERN, {ENDOFTEXT: 199999, ENDOFPROMPT: 200018},
        "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d"),
    "cl100k_base": Vocabulary(
        _CL100K_PATTERN, {ENDOFTEXT: 100257, FIM_PREFIX: 100258, FIM_MIDDLE: 100259,
                          FIM_SUFFIX: 100260, ENDOFPROMPT: 100276},
        "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7"),
}

_lock = threading.Lock()
_loaded: dict[str, tiktoken.Encoding] = {}


class VocabularyMissing(RuntimeError):
    """A shipped vocabulary file is missing or damaged (a broken installation)."""


def encoding(name: str) -> tiktoken.Encoding:
    """The encoding ``name`` ("o200k_base" or "cl100k_base"), loaded once per process."""
    with _lock:
        found = _loaded.get(name)
        if found is None:
            found = _loaded[name] = _load(name)
        return found


def _load(name: str) -> tiktoken.Encoding:
    vocab = VOCABULARIES[name]
    path = resource("tokenizers", f"{name}.tiktoken.gz")  # gzip: half the size in installers
    try:
        data = gzip.decompress(path.read_bytes())
    except (OSError, EOFError) as exc:
        why = getattr(exc, "strerror", None) or str(exc)
        raise VocabularyMissing(f"the tokenizer file {path} cannot be read ({why}); "
                                "reinstall Batcher") from exc
    if hashlib.sha256(data).hexdigest() != vocab.sha256:
        raise VocabularyMissing(f"the tokenizer file {path} is damaged (wrong checksum); "
                                "reinstall Batcher")
    ranks = {base64.b64decode(token): int(rank)
             for token, rank in (line.split() for line in data.splitlines() if line)}
    return tiktoken.Encoding(name, pat_str=vocab.pattern, mergeable_ranks=ranks,
                             special_tokens=vocab.special_tokens)

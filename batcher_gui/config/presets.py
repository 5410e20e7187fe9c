"""Ready-made profiles for providers whose batch API speaks OpenAI's (files + batches), so a
user picks "Groq" instead of typing its URL, limits and key variable.

Plain data and one lookup. Where the facts come from (checked 2026-12 against
``reference/openai-batch-api.md`` "Update 2026-12-01" and section 10, and the providers' public
docs as stored then):

- Gemini: base URL ``https://generativelanguage.googleapis.com/v1beta/openai/`` (Google's
  "OpenAI compatibility" page); its batch mode has been reachable through it since 2025-09
  (Google's announcement), with a 48-hour expiry and no ``json_schema`` response format in
  batch. UNVERIFIED: Google documents a 2 GB input file but no per-batch request count for
  the compatible endpoint; 50,000 requests is OpenAI's figure, kept as a safe default.
- Groq: base URL ``https://api.groq.com/openai/v1`` (Groq's batch guide uploads to
  ``/openai/v1/files``); chat completions only; 100 MB and 50,000 lines per input file;
  completion window 24 h to 7 d.

Neither has been tried against the real service: only against Batcher's sandbox, and each
preset says so in the window.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from batcher_gui.domain.errors import InvalidInput
from batcher_gui.domain.models import ProfileKind, ProfileLimits


@dataclass(frozen=True, slots=True)
class Preset:
    """What a preset fills in for a new profile.

    Attributes:
        key: its name on the command line (``--preset groq``) and the profile's suggested name.
        label: its name in the window.
        verified: what was checked and what differs from OpenAI, shown beside the preset.
    """

    key: str
    label: str
    kind: ProfileKind
    base_url: str
    key_env: str
    limits: ProfileLimits
    verified: str


PRESETS: dict[str, Preset] = {preset.key: preset for preset in (
    Preset(
        "gemini", "Gemini (OpenAI-compatible)", ProfileKind.OPENAI_COMPATIBLE,
        "https://generativelanguage.googleapis.com/v1beta/openai/", "GEMINI_API_KEY",
        ProfileLimits(max_requests=50_000, max_batch_bytes=2_000_000_000),
        "Checked only against Batcher's sandbox, not against Gemini itself. What differs: "
        "batches expire after 48 hours (not 24), and a batch cannot ask for a JSON schema "
        "(response_format json_schema)."),
    Preset(
        "groq", "Groq", ProfileKind.OPENAI_COMPATIBLE,
        "https://api.groq.com/openai/v1", "GROQ_API_KEY",
        ProfileLimits(max_requests=50_000, max_batch_bytes=100 * 1000 * 1000),
        "Checked only against Batcher's sandbox, not against Groq itself. What differs: chat "
        "completions only, at most 100 MB and 50,000 lines per batch, and a batch may take "
        "from 24 hours to 7 days."),
)}


def preset(name: str) -> Preset:
    """The preset called ``name`` (its key or its label, in any case); InvalidInput naming
    the presets there are otherwise."""
    wanted = name.strip().lower()
    for candidate in PRESETS.values():
        if wanted in (candidate.key, candidate.label.lower()):
            return candidate
    close = difflib.get_close_matches(wanted, list(PRESETS), n=1)
    hint = f" Did you mean {close[0]}?" if close else ""
    raise InvalidInput(f"there is no preset {name!r}.{hint} Presets: {', '.join(PRESETS)}")

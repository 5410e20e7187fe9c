"""Checking profile fields: Claude profiles (URL, tier, limits, key variable) and the presets."""

from __future__ import annotations

import pytest
from keyring.backends import fail

from batcher_gui.config.presets import PRESETS, preset
from batcher_gui.config.profiles import (
    ANTHROPIC_LIMITS,
    ProfileFields,
    check_profile,
    check_tier,
    check_url,
    default_limits,
)
from batcher_gui.config.secrets import (
    MissingApiKey,
    SecretStore,
    default_key_env,
    resolve_api_key,
)
from batcher_gui.domain.capacity import queue_limit
from batcher_gui.domain.errors import InvalidInput
from batcher_gui.domain.models import Profile, ProfileKind, ProfileLimits

CLAUDE = ProfileKind.ANTHROPIC


@pytest.mark.parametrize(("typed", "stored"), [
    (None, None),
    ("", None),
    ("  ", None),
    ("https://api.anthropic.com", "https://api.anthropic.com"),
    ("https://api.anthropic.com/", "https://api.anthropic.com"),
    ("https://api.anthropic.com/v1", "https://api.anthropic.com"),
    ("https://api.anthropic.com/v1/", "https://api.anthropic.com"),
    ("http://127.0.0.1:8123/v1", "http://127.0.0.1:8123"),
    ("https://gateway.example/anthropic/v1", "https://gateway.example/anthropic"),
    ("https://gateway.example/v1beta", "https://gateway.example/v1beta"),  # not /v1
])
def test_a_claude_url_is_optional_and_loses_its_v1(typed: str | None, stored: str | None
                                                   ) -> None:
    assert check_url(CLAUDE, typed) == stored


def test_only_claude_urls_lose_their_v1() -> None:
    assert check_url(ProfileKind.OPENAI_COMPATIBLE, "http://h:1/v1/") == "http://h:1/v1"
    assert check_url(ProfileKind.OPENAI, "https://api.openai.com/v1") == (
        "https://api.openai.com/v1")
    with pytest.raises(InvalidInput, match="is not a full web address"):
        check_url(CLAUDE, "api.anthropic.com/v1")


@pytest.mark.parametrize(("typed", "stored", "limit"), [
    ("start", "start", 200_000),
    ("Build", "build", 300_000),
    (" SCALE ", "scale", 500_000),
    ("250000", 250_000, 250_000),
    ("250,000", 250_000, 250_000),
    ("1_000_000", 1_000_000, 1_000_000),
    (750_000, 750_000, 750_000),
    (400_000.0, 400_000, 400_000),
    (1, 1, 1),
    (10_000_000, 10_000_000, 10_000_000),
])
def test_tiers_are_names_or_numbers_of_requests(typed: object, stored: object,
                                                limit: int) -> None:
    assert check_tier(typed) == stored
    assert queue_limit({"tier": check_tier(typed)}) == limit


@pytest.mark.parametrize("typed", ["gold", "", "0", "-5", "2.5", "10,000,001", "١٢٣", "1e6",
                                   0, -1, 2.5, 10_000_001, True, None, [200_000]])
def test_a_tier_that_is_neither_is_refused_saying_what_is_expected(typed: object) -> None:
    with pytest.raises(InvalidInput) as refused:
        check_tier(typed)
    message = str(refused.value)
    assert message.startswith("the tier must be start, build or scale, or a whole number of "
                              "requests from 1 to 10,000,000"), message
    assert repr(str(typed)) in message


def test_a_claude_profile_gets_anthropic_limits_unless_it_names_its_own() -> None:
    claude = check_profile(ProfileFields("claude", CLAUDE, options={"tier": "Build"}))
    assert claude.limits == ANTHROPIC_LIMITS == ProfileLimits(100_000, 256_000_000)
    assert claude.base_url is None and claude.options == {"tier": "build"}
    own = ProfileLimits(max_requests=5_000, max_batch_bytes=10_000_000)
    assert check_profile(ProfileFields("claude", CLAUDE, limits=own)).limits == own
    openai = check_profile(ProfileFields("openai", ProfileKind.OPENAI))
    assert openai.limits == default_limits(ProfileKind.OPENAI) == ProfileLimits(
        50_000, 200_000_000)


def test_a_tier_is_checked_and_belongs_to_claude_profiles_only() -> None:
    with pytest.raises(InvalidInput, match="not 'gold'"):
        check_profile(ProfileFields("claude", CLAUDE, options={"tier": "gold"}))
    with pytest.raises(InvalidInput, match="Anthropic .Claude. profiles only"):
        check_profile(ProfileFields("groq", ProfileKind.OPENAI_COMPATIBLE,
                                    "https://api.groq.com/openai/v1", options={"tier": "start"}))


def test_claude_profiles_read_anthropic_api_key_as_openai_ones_read_openai_api_key() -> None:
    store = SecretStore(backend=fail.Keyring())
    claude = Profile(1, "claude", CLAUDE, None, None, ANTHROPIC_LIMITS)
    env = {"ANTHROPIC_API_KEY": " sk-ant-from-env\n", "OPENAI_API_KEY": "sk-openai"}
    assert resolve_api_key(claude, store, env) == "sk-ant-from-env"
    own = Profile(1, "claude", CLAUDE, None, "MY_CLAUDE", ANTHROPIC_LIMITS)
    assert resolve_api_key(own, store, {**env, "MY_CLAUDE": "sk-mine"}) == "sk-mine"
    assert resolve_api_key(own, store, env) == "sk-ant-from-env"  # then the usual one
    with pytest.raises(MissingApiKey) as missing:
        resolve_api_key(claude, store, {"OPENAI_API_KEY": "sk-openai"})
    assert "set ANTHROPIC_API_KEY" in str(missing.value)
    assert "OPENAI_API_KEY" not in str(missing.value)
    assert default_key_env(CLAUDE) == "ANTHROPIC_API_KEY"
    assert default_key_env(ProfileKind.OPENAI) == "OPENAI_API_KEY"
    assert default_key_env(ProfileKind.OPENAI_COMPATIBLE) is None


def test_presets_make_valid_profiles_and_say_what_was_verified() -> None:
    assert set(PRESETS) == {"gemini", "groq"}
    for chosen in PRESETS.values():
        checked = check_profile(ProfileFields(chosen.key, chosen.kind, chosen.base_url,
                                              chosen.key_env, chosen.limits))
        assert checked.kind is ProfileKind.OPENAI_COMPATIBLE and checked.limits == chosen.limits
        assert chosen.verified.startswith("Checked only against Batcher's sandbox, not against ")
    gemini, groq = preset("gemini"), preset("Groq")
    assert gemini.base_url == "https://generativelanguage.googleapis.com/v1beta/openai/"
    assert (gemini.key_env, groq.key_env) == ("GEMINI_API_KEY", "GROQ_API_KEY")
    assert "48 hours" in gemini.verified and "json_schema" in gemini.verified
    assert groq.base_url == "https://api.groq.com/openai/v1"
    assert groq.limits == ProfileLimits(max_requests=50_000, max_batch_bytes=100_000_000)
    assert "chat completions only" in groq.verified and "7 days" in groq.verified
    assert preset(" gemini (openai-compatible) ") is gemini  # its label works too
    with pytest.raises(InvalidInput, match="no preset 'grok'. Did you mean groq"):
        preset("grok")


def test_a_key_in_anthropic_api_key_is_masked_before_any_profile_uses_it() -> None:
    from batcher_gui.config.secrets import remember_environment_keys
    from batcher_gui.domain.secrecy import mask

    odd = "claudeKEYwithNOshape8812"  # looks like no key: only the registry knows it
    remember_environment_keys([], {"ANTHROPIC_API_KEY": odd})
    said = mask(f"upstream said: bad credentials {odd}")
    assert odd not in said and said.endswith("…8812")

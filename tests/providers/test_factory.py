"""make_provider: profile kinds, base URL rules, Azure, capabilities."""

from __future__ import annotations

import asyncio

import openai
import pytest

from batcher_gui.domain.errors import BatcherError
from batcher_gui.domain.models import Profile, ProfileKind, ProfileLimits
from batcher_gui.providers import (
    AZURE_API_VERSION,
    OpenAIProvider,
    ProviderConfigError,
    make_provider,
)


def profile(kind: ProfileKind, base_url: str | None = None, name: str = "p") -> Profile:
    return Profile(id=1, name=name, kind=kind, base_url=base_url, key_env=None,
                   limits=ProfileLimits(max_requests=1000, max_batch_bytes=5_000_000))


def built(p: Profile, **kwargs: object) -> OpenAIProvider:
    provider = make_provider(p, "sk-k", **kwargs)  # type: ignore[arg-type]
    asyncio.run(provider.close())  # the SDK's HTTP client must not be left open
    return provider


def test_openai_default_and_override() -> None:
    assert built(profile(ProfileKind.OPENAI)).base_url == "https://api.openai.com/v1/"
    assert built(profile(ProfileKind.OPENAI, "https://proxy.example/v1")).base_url \
        == "https://proxy.example/v1/"
    assert built(profile(ProfileKind.OPENAI), base_url="http://127.0.0.1:8/v1").base_url \
        == "http://127.0.0.1:8/v1/"


def test_capabilities_come_from_the_profile_limits() -> None:
    caps = built(profile(ProfileKind.OPENAI)).capabilities
    assert (caps.max_requests, caps.max_batch_bytes) == (1000, 5_000_000)
    assert caps.completion_window == "24h"


def test_retries_and_timeout_reach_the_sdk() -> None:
    provider = built(profile(ProfileKind.OPENAI), max_retries=5, timeout=7.5)
    assert provider._client.max_retries == 5
    assert provider._client.timeout == 7.5
    assert provider._create_client.max_retries == 0


def test_compatible_needs_a_base_url() -> None:
    with pytest.raises(ProviderConfigError, match="no base URL") as err:
        make_provider(profile(ProfileKind.OPENAI_COMPATIBLE, name="local"), "k")
    assert isinstance(err.value, BatcherError)
    assert "'local'" in str(err.value)
    p = built(profile(ProfileKind.OPENAI_COMPATIBLE, "http://localhost:8000/v1"))
    assert p.base_url == "http://localhost:8000/v1/"


def test_builtin_sandbox_needs_the_real_url() -> None:
    sandbox = profile(ProfileKind.OPENAI_COMPATIBLE, "builtin:sandbox", name="sandbox")
    with pytest.raises(ProviderConfigError, match="builtin:sandbox"):
        make_provider(sandbox, "sandbox")
    assert built(sandbox, base_url="http://127.0.0.1:4321/v1").base_url \
        == "http://127.0.0.1:4321/v1/"


@pytest.mark.parametrize("url", ["localhost:8000/v1", "ftp://h/v1", "http://"])
def test_bad_urls(url: str) -> None:
    with pytest.raises(ProviderConfigError, match="not an http"):
        make_provider(profile(ProfileKind.OPENAI_COMPATIBLE, url), "k")


def test_azure() -> None:
    with pytest.raises(ProviderConfigError, match="no endpoint"):
        make_provider(profile(ProfileKind.AZURE), "k")
    az = built(profile(ProfileKind.AZURE, "https://res.openai.azure.com/"))
    assert isinstance(az._client, openai.AsyncAzureOpenAI)
    assert az.base_url == "https://res.openai.azure.com/openai/"
    assert az._client._custom_query == {"api-version": AZURE_API_VERSION}
    other = built(profile(ProfileKind.AZURE, "https://res.openai.azure.com"),
                  options={"api_version": "2025-04-01-preview"})
    assert other._client._custom_query == {"api-version": "2025-04-01-preview"}
    assert isinstance(other._create_client, openai.AsyncAzureOpenAI)


def test_invalid_settings() -> None:
    with pytest.raises(ProviderConfigError):
        make_provider(profile(ProfileKind.OPENAI), "k", max_retries=-1)
    with pytest.raises(ProviderConfigError):
        make_provider(profile(ProfileKind.OPENAI), "k", timeout=0)


def test_repr_has_no_key() -> None:
    provider = built(profile(ProfileKind.OPENAI, name="work"))
    assert "sk-k" not in repr(provider)
    assert "work" in repr(provider)

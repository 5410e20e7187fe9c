"""Profile + key -> a ready provider."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from batcher_gui.domain.models import Profile, ProfileKind
from batcher_gui.domain.remote import Capabilities
from batcher_gui.providers.errors import ProviderConfigError
from batcher_gui.providers.openai_provider import OpenAIProvider

if TYPE_CHECKING:
    from batcher_gui.providers.anthropic_provider import AnthropicProvider

OPENAI_BASE_URL = "https://api.openai.com/v1"
ANTHROPIC_BASE_URL = "https://api.anthropic.com"
#: The first GA Azure OpenAI api-version with the Batch API.
AZURE_API_VERSION = "2024-10-21"
#: Profiles whose base URL starts with this are served in-process; the caller passes the
#: real URL (``builtin:sandbox`` -> ``http://127.0.0.1:PORT/v1``).
BUILTIN_PREFIX = "builtin:"


def capabilities_for(profile: Profile) -> Capabilities:
    """What a provider built for ``profile`` may be asked to do (limits come from the profile)."""
    return Capabilities(
        max_requests=profile.limits.max_requests,
        max_batch_bytes=profile.limits.max_batch_bytes,
    )


def _check_url(url: str, profile: Profile) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ProviderConfigError(
            f"Profile '{profile.name}': base URL {url!r} is not an http(s) URL. "
            "Use the API root, e.g. https://api.example.com/v1."
        )
    return url


def _resolve_url(profile: Profile, base_url: str | None) -> str | None:
    url = base_url or profile.base_url
    if url and url.startswith(BUILTIN_PREFIX):
        raise ProviderConfigError(
            f"Profile '{profile.name}' is served by Batcher itself ({url}); it can only be "
            "used while that server runs, with its real URL."
        )
    return url or None


def make_provider(
    profile: Profile,
    api_key: str,
    *,
    base_url: str | None = None,
    max_retries: int = 2,
    timeout: float = 60.0,
    options: Mapping[str, str] | None = None,
) -> OpenAIProvider | AnthropicProvider:
    """The provider for ``profile`` with ``api_key``.

    Args:
        base_url: overrides ``profile.base_url`` (the built-in sandbox's real URL).
        max_retries: SDK retries for calls other than batch creation.
        timeout: seconds per connect/read/write operation.
        options: per-kind settings; Azure reads ``api_version`` (default 2024-10-21).

    Raises:
        ProviderConfigError: the profile lacks a (usable) base URL for its kind.
    """
    if max_retries < 0:
        raise ProviderConfigError("max_retries must be 0 or more.")
    if timeout <= 0:
        raise ProviderConfigError("timeout must be more than 0 seconds.")
    url = _resolve_url(profile, base_url)

    def build(url: str, azure_api_version: str | None = None) -> OpenAIProvider:
        return OpenAIProvider(
            api_key=api_key, base_url=_check_url(url, profile), max_retries=max_retries,
            timeout=timeout, capabilities=capabilities_for(profile), profile_name=profile.name,
            azure_api_version=azure_api_version,
        )

    kind = ProfileKind(profile.kind)
    if kind is ProfileKind.ANTHROPIC:
        # Imported here: the SDK takes seconds to import, which OpenAI-only users never pay.
        from batcher_gui.providers.anthropic_provider import AnthropicProvider

        # The Anthropic SDK's paths carry /v1: a root given with it (the built-in sandbox's
        # URL, a user's habit from OpenAI) is taken without.
        root = (url or ANTHROPIC_BASE_URL).rstrip("/")
        root = root[:-3] if root.endswith("/v1") else root
        return AnthropicProvider(
            api_key=api_key, base_url=_check_url(root, profile), max_retries=max_retries,
            timeout=timeout, capabilities=capabilities_for(profile), profile_name=profile.name)
    if kind is ProfileKind.OPENAI:
        return build(url or OPENAI_BASE_URL)
    if kind is ProfileKind.OPENAI_COMPATIBLE:
        if not url:
            raise ProviderConfigError(
                f"Profile '{profile.name}' is OpenAI-compatible but has no base URL. Set the "
                "server's API root (including /v1), e.g. http://localhost:8000/v1."
            )
        return build(url)
    # Azure: the resource endpoint; the SDK appends /openai and the api-version query.
    if not url:
        raise ProviderConfigError(
            f"Profile '{profile.name}' is an Azure OpenAI profile but has no endpoint. Set the "
            "resource endpoint, e.g. https://my-resource.openai.azure.com/."
        )
    api_version = (options or {}).get("api_version") or AZURE_API_VERSION
    return build(url, api_version)

"""User configuration that is not in the workspace database: API keys (OS keyring)."""

from batcher_gui.config.secrets import (
    ANTHROPIC_KEY_ENV,
    OPENAI_KEY_ENV,
    SANDBOX_BASE_URL,
    SANDBOX_KEY,
    SERVICE,
    InvalidApiKey,
    MissingApiKey,
    SecretStore,
    SecretStoreUnavailable,
    is_sandbox,
    read_key_interactively,
    resolve_api_key,
    validate_key,
)

__all__ = [
    "ANTHROPIC_KEY_ENV",
    "OPENAI_KEY_ENV",
    "SANDBOX_BASE_URL",
    "SANDBOX_KEY",
    "SERVICE",
    "InvalidApiKey",
    "MissingApiKey",
    "SecretStore",
    "SecretStoreUnavailable",
    "is_sandbox",
    "read_key_interactively",
    "resolve_api_key",
    "validate_key",
]

"""Workspace settings: one typed model lists every key, its type, default, limits and help.

The database stores the values as JSON (``storage``); everything that reads or writes them
goes through this model: ``batcher config`` refuses a bad value with a clear message, the
engine never sees one, and the window's settings page builds its fields from :data:`SPECS`.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any

import orjson

from batcher_gui.domain.errors import InvalidInput
from batcher_gui.domain.pricing import parse_price

_BOOL_WORDS = {"true": True, "yes": True, "on": True, "1": True,
               "false": False, "no": False, "off": False, "0": False}


def _meta(label: str, help_text: str, *, low: float | None = None, high: float | None = None,
          unit: str = "") -> dict[str, Any]:
    return {"label": label, "help": help_text, "low": low, "high": high, "unit": unit}


@dataclass(frozen=True, slots=True)
class WorkspaceSettings:
    """Every workspace setting with its default (see :data:`SPECS` for help and limits)."""

    poll_interval_seconds: float = field(default=30.0, metadata=_meta(
        "Poll interval, real providers",
        "seconds between two status checks of a batch at a real provider",
        low=0.1, high=86_400, unit="s"))
    sandbox_poll_interval_seconds: float = field(default=1.0, metadata=_meta(
        "Poll interval, sandbox",
        "seconds between two status checks of a batch on the built-in sandbox",
        low=0.1, high=3_600, unit="s"))
    auto_seal_quiet_seconds: float = field(default=600.0, metadata=_meta(
        "Send a draft batch after",
        "a draft batch that has not grown for this long is sealed and sent",
        low=0, high=7 * 86_400, unit="s"))
    max_prompt_attempts: int = field(default=3, metadata=_meta(
        "Attempts per prompt",
        "how often one prompt is sent before a temporary failure (a server error, an expired "
        "batch) is final",
        low=1, high=20))
    cleanup_provider_files: bool = field(default=True, metadata=_meta(
        "Clean up provider files",
        "delete a batch's input, output and error files at the provider once it has ended"))
    token_limit_backoff_seconds: tuple[float, ...] = field(
        default=(300.0, 600.0, 1200.0, 2400.0, 4800.0), metadata=_meta(
            "Waits after a token limit",
            "how long to wait each time the provider refuses a batch because its queue of "
            "tokens is full: one wait per refusal, and after the last one the batch fails",
            low=0, high=7 * 86_400, unit="s"))
    max_concurrent_batches: int = field(default=8, metadata=_meta(
        "Batches worked on at once",
        "batches worked on at the same time (uploads, downloads, status checks)",
        low=1, high=64))
    delivery_attempts: int = field(default=5, metadata=_meta(
        "Webhook attempts",
        "webhook attempts per result before its delivery is marked failed", low=1, high=50))
    delivery_retry_seconds: float = field(default=10.0, metadata=_meta(
        "First webhook retry after",
        "first wait after a failed webhook attempt (doubles after each)", low=0.1,
        high=86_400, unit="s"))
    default_profile: str = field(default="openai", metadata=_meta(
        "Default profile", "the provider profile imports use when none is named"))
    prices: Mapping[str, Any] = field(default_factory=dict, metadata=_meta(
        "Prices",
        "prices per model prefix, over the built-in table: {\"model\": [input, output]} USD "
        "per 1M tokens at the batch rate, or {\"model\": {\"input\": .., \"output\": .., "
        "\"cached_input\": ..}} at the live rate"))
    notifications: bool = field(default=True, metadata=_meta(
        "Notifications", "desktop notification when a run finishes or fails (the window)"))
    token_limits: Mapping[str, Any] = field(default_factory=dict, metadata=_meta(
        "Token limits",
        "enqueued-token limits over the built-in tier table: {\"gpt-4o\": 1350000} per model "
        "prefix, or {\"PROFILE/gpt-4o\": ..} for one profile; a batch is sent only when its "
        "input tokens fit beside the model's batches already at the provider"))
    intake_rate_per_second: float = field(default=50.0, metadata=_meta(
        "Intake API rate",
        "calls a second one intake API token may make on average (a bulk call counts once); "
        "more get HTTP 429 with Retry-After",
        low=0.1, high=100_000, unit="/s"))
    intake_burst: int = field(default=100, metadata=_meta(
        "Intake API burst",
        "calls one intake API token may make at once before its rate applies",
        low=1, high=100_000))

    @classmethod
    def from_raw(cls, raw: Mapping[str, Any]) -> tuple[WorkspaceSettings, list[str]]:
        """Settings from stored values; a stored value that is not valid falls back to the
        default and is reported in the returned problems (never a crash later on)."""
        values: dict[str, Any] = {}
        problems: list[str] = []
        for key, value in raw.items():
            if key not in SPECS:
                continue  # an old or newer Batcher's setting: kept, not used
            try:
                values[key] = check(key, value)
            except InvalidInput:
                problems.append(SPECS[key].ignored(value))
        return cls(**values), problems

    def with_value(self, key: str, value: Any) -> WorkspaceSettings:
        return replace(self, **{key: check(key, value)})

    def stored_value(self, key: str) -> Any:
        """The JSON-compatible value to store for ``key``."""
        value = getattr(self, key)
        if isinstance(value, tuple):
            return list(value)
        if isinstance(value, Mapping):
            return {k: _jsonable(v) for k, v in value.items()}
        return value


def _jsonable(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


@dataclass(frozen=True, slots=True)
class SettingSpec:
    """One setting: its key, Python type (as a name), default, limits, help and label (its
    name in the window, and in messages both the window and the command line show)."""

    key: str
    kind: str
    default: Any
    help: str
    low: float | None
    high: float | None
    unit: str
    label: str = ""

    def shown(self, value: Any) -> str:
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, tuple):
            return ", ".join(_num(v) for v in value)
        if isinstance(value, Mapping):
            return orjson.dumps({k: _jsonable(v) for k, v in value.items()}).decode()
        if isinstance(value, float):
            return _num(value)
        return str(value)

    def expected(self) -> str:
        """What a typed value must be ("a number of seconds from 0.1 to 86400"). Numbers are
        written as they can be typed: no thousands separators."""
        span = ""
        if self.low is not None and self.high is not None:
            span = f" from {_num(self.low)} to {_num(self.high)}"
        unit = f" of {'seconds' if self.unit == 's' else self.unit}" if self.unit else ""
        return {
            "float": f"a number{unit}{span}",
            "int": f"a whole number{span}",
            "bool": "true or false",
            "tuple": f"a list of numbers{unit}, each{span}, e.g. 300,600,1200",
            "mapping": ('a JSON object like {"gpt-4o": 1350000}' if self.key == "token_limits"
                        else 'a JSON object like {"gpt-4o-mini": [0.075, 0.30]}'),
            "str": "a name",
        }[self.kind]

    def described(self) -> str:
        """What the value must be, in words without JSON (for messages anyone may read)."""
        if self.key == "prices":
            return ("prices by model, each an input and an output price of 0 or more (USD per "
                    "1M tokens)")
        if self.key == "token_limits":
            return "token limits by model, each a whole number of tokens above 0"
        return self.expected()

    def ignored(self, stored: Any) -> str:
        """Why a stored value is not used, naming the setting by its label."""
        text = stored if isinstance(stored, str) else orjson.dumps(stored, default=str).decode()
        if len(text) > 60:
            text = text[:59] + "…"
        default = ("none" if isinstance(self.default, Mapping) and not self.default
                   else self.shown(self.default))
        return (f"“{self.label}” held {text!r}, not {self.described()}; using the default, "
                f"{default}")


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _kind(default: Any) -> str:
    for kind, types in (("bool", bool), ("int", int), ("float", float), ("tuple", tuple),
                        ("str", str)):
        if isinstance(default, types):
            return kind
    return "mapping"


def _specs() -> dict[str, SettingSpec]:
    out: dict[str, SettingSpec] = {}
    defaults = WorkspaceSettings()
    for f in fields(WorkspaceSettings):
        default = getattr(defaults, f.name)
        out[f.name] = SettingSpec(f.name, _kind(default), default, f.metadata["help"],
                                  f.metadata["low"], f.metadata["high"], f.metadata["unit"],
                                  f.metadata["label"])
    return out


#: Every setting, by key, in the model's order.
SPECS: dict[str, SettingSpec] = _specs()


def spec_for(key: str) -> SettingSpec:
    """The setting named ``key``; unknown keys are refused with the closest known names."""
    spec = SPECS.get(key)
    if spec is None:
        close = difflib.get_close_matches(key, list(SPECS), n=2)
        hint = f" Did you mean {' or '.join(close)}?" if close else ""
        raise InvalidInput(f"unknown setting {key!r}.{hint} Settings: {', '.join(SPECS)}")
    return spec


def _bad(spec: SettingSpec, value: Any) -> InvalidInput:
    shown = value if isinstance(value, str) else orjson.dumps(value).decode()
    return InvalidInput(f"{spec.key} must be {spec.expected()}, got {shown!r}")


def _number(spec: SettingSpec, value: Any, *, whole: bool) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _bad(spec, value)
    if not math.isfinite(value) or (whole and not float(value).is_integer()):
        raise _bad(spec, value)
    if (spec.low is not None and value < spec.low) or (spec.high is not None
                                                        and value > spec.high):
        raise _bad(spec, value)
    return value


def check(key: str, value: Any) -> Any:
    """``value`` (as stored, JSON types) checked and normalised for ``key``."""
    spec = spec_for(key)
    if spec.kind == "float":
        return float(_number(spec, value, whole=False))
    if spec.kind == "int":
        return int(_number(spec, value, whole=True))
    if spec.kind == "bool":
        if not isinstance(value, bool):
            raise _bad(spec, value)
        return value
    if spec.kind == "str":
        if not isinstance(value, str) or not value.strip():
            raise _bad(spec, value)
        return value.strip()
    if spec.kind == "tuple":
        if not isinstance(value, (list, tuple)) or not value:
            raise _bad(spec, value)
        return tuple(float(_number(spec, v, whole=False)) for v in value)
    if key == "token_limits":
        return _check_token_limits(spec, value)
    return _check_prices(spec, value)


def _check_token_limits(spec: SettingSpec, value: Any) -> dict[str, int]:
    if not isinstance(value, Mapping):
        raise _bad(spec, value)
    out: dict[str, int] = {}
    for model, limit in value.items():
        if (not isinstance(model, str) or not model.strip() or isinstance(limit, bool)
                or not isinstance(limit, (int, float)) or not math.isfinite(limit)
                or limit <= 0 or not float(limit).is_integer()):
            raise InvalidInput(
                f"token_limits: {model!r} must map to a whole number of tokens above 0 (e.g. "
                f"2000000), got {orjson.dumps(limit, default=str).decode()}")
        out[model.strip().lower()] = int(limit)
    return out


def _check_prices(spec: SettingSpec, value: Any) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise _bad(spec, value)
    out: dict[str, Any] = {}
    for model, price in value.items():
        if not isinstance(model, str) or not model.strip() or parse_price(price) is None:
            raise InvalidInput(
                f"prices: {model!r} must map to [input, output] USD per 1M tokens at the batch "
                "rate (two numbers of 0 or more), or to {\"input\": .., \"output\": .., "
                "\"cached_input\": ..} at the live rate, got "
                f"{orjson.dumps(price, default=str).decode()}")
        out[model.strip().lower()] = ((float(price[0]), float(price[1]))
                                      if isinstance(price, (list, tuple)) else dict(price))
    return out


def parse(key: str, text: str) -> Any:
    """A value typed by the user (command line, settings field) for ``key``, checked."""
    spec = spec_for(key)
    text = text.strip()
    value: Any
    if spec.kind in ("float", "int"):
        try:
            value = float(text)
        except ValueError:
            raise _bad(spec, text) from None
    elif spec.kind == "bool":
        if text.lower() not in _BOOL_WORDS:
            raise _bad(spec, text)
        value = _BOOL_WORDS[text.lower()]
    elif spec.kind == "str":
        value = text
    elif spec.kind == "tuple":
        try:
            value = (orjson.loads(text) if text.startswith("[")
                     else [float(part) for part in text.replace(" ", "").split(",") if part])
        except (ValueError, orjson.JSONDecodeError):
            raise _bad(spec, text) from None
    else:
        try:
            value = orjson.loads(text)
        except orjson.JSONDecodeError:
            raise _bad(spec, text) from None
    try:
        return check(key, value)
    except InvalidInput:
        if spec.kind in ("float", "int", "tuple"):
            raise _bad(spec, text) from None  # what was typed ("0"), not how it was read (0.0)
        raise

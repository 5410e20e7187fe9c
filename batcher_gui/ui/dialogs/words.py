"""The dialogs' words for what the layers below say: no setting keys, exception class names,
command-line flags or file paths reach a dialog, and every number reads as people write it.

The service and the readers word their messages for both the command line and the window;
where a message names a flag (``pass --model``), a key or a class, it is said again here in the
window's terms (the field to fill in, the list to choose from). Tests show each path with real
files and services (tests/ui/test_words*.py).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from batcher_gui.config.profiles import ANTHROPIC_BASE_URL
from batcher_gui.config.secrets import ANTHROPIC_KEY_ENV, OPENAI_KEY_ENV, default_key_env
from batcher_gui.config.settings import SettingSpec
from batcher_gui.domain.errors import LineError
from batcher_gui.domain.models import Profile, ProfileKind
from batcher_gui.domain.wording import plural

# -- money -----------------------------------------------------------------------------------


#: Amounts below this are "under $0.0001": more zeros would say nothing a person can use.
TINY = 0.0001


def money(value: float) -> str:
    """USD with the digits an amount needs: "$0", "under $0.0001", "$0.00077", "$0.015",
    "$0.12", "$12.40". Amounts under ten cents keep two significant digits (one prompt costs
    a fraction of a cent), never a row of zeros."""
    if value == 0:
        return "$0"
    sign, v = ("-" if value < 0 else ""), abs(value)
    if v < TINY:  # (costs are never negative)
        return "under $0.0001"
    if v >= 0.1:
        return f"{sign}${v:,.2f}"
    digits = max(2, 1 - math.floor(math.log10(v)))
    text = f"{v:.{digits}f}".rstrip("0")
    whole, _, cents = text.partition(".")
    return f"{sign}${whole}.{cents.ljust(2, '0')}"


def money_range(low: float, high: float) -> str:
    return money(low) if money(low) == money(high) else f"{money(low)} to {money(high)}"


# -- settings --------------------------------------------------------------------------------


def number(value: float) -> str:
    """30.0 as "30", 0.5 as "0.5": as it can be typed (no thousands separators, which a
    settings field would not read back)."""
    return str(int(value)) if float(value).is_integer() else str(value)


def expected(spec: SettingSpec) -> str:
    """What a setting's field takes, as the window asks for it ("a number of seconds from
    0.1 to 86400")."""
    if spec.kind == "tuple":
        span = ("" if spec.low is None or spec.high is None
                else f", each from {number(spec.low)} to {number(spec.high)}")
        return f"numbers of seconds separated by commas{span}, e.g. 300, 600, 1200"
    return spec.described()


def refused(spec: SettingSpec) -> str:
    """A typed value the settings model refused, in the window's words."""
    return f"“{spec.label}” must be {expected(spec)}."


def shown(spec: SettingSpec, value: Any) -> str:
    """A setting's value in words: "30 seconds", "on", "300, 600 seconds", "2 models"."""
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, Mapping):
        return ("none (the built-in table only)" if not value
                else plural(len(value), "model"))
    unit = " seconds" if spec.unit == "s" else ""
    if isinstance(value, tuple):
        return ", ".join(number(v) for v in value) + unit
    if isinstance(value, (int, float)):
        return number(value) + (" second" if unit and value == 1 else unit)
    return str(value)


# -- anything from below -------------------------------------------------------------------

_CLASS_NAME = re.compile(r"\b(?:[A-Z][a-z0-9]+)+(?:Error|Exception|Warning|Failure)\b:?\s*")
_ERRNO = re.compile(r"\[Errno -?\d+\]\s*")
_COMMAND = re.compile(r"\s*\(`batcher [^`]*`\)|`batcher [^`]*`")
_FLAGS = {"--model": "the Model field", "--template": "the Prompt template",
          "--format": "the Format list", "--sheet": "the Sheet list",
          "--system": "the System prompt", "--id-column": "“custom_id from”",
          "--endpoint": "the Endpoint list", "--key-env": "“Key env var”",
          "--base-url": "“Base URL”"}
_FLAG = re.compile(r"--[a-z][a-z-]*")


def plain(message: str) -> str:
    """A message from below without class names, errno codes, commands or flags, starting
    with a capital letter (a safety net: the known messages are reworded where they arise)."""
    text = _CLASS_NAME.sub("", message)
    text = _ERRNO.sub("", text)
    text = _COMMAND.sub("", text)
    text = text.replace("http(s)", "http:// or https://")
    text = _FLAG.sub(lambda m: _FLAGS.get(m.group(0), "the matching field"), text)
    text = text.strip()
    return text[:1].upper() + text[1:]


# -- import problems ---------------------------------------------------------------------------

#: An import option's field in the import dialog.
FIELDS = {"template": "Prompt template", "model": "Model", "format": "Format",
          "id_column": "custom_id from", "system": "System prompt", "endpoint": "Endpoint",
          "header": "Header row", "sheet": "Sheet"}
FORMAT_WORDS = {"jsonl": "JSON Lines", "csv": "CSV", "tsv": "TSV", "text": "Text",
                "xlsx": "Excel workbook"}
_IMPORT_PHRASES: list[tuple[re.Pattern[str], str]] = [(re.compile(a), b) for a, b in (
    (r"\(or pass --model\)", "(or type a model in the Model field to use for every line)"),
    (r"pass --model \(e\.g\. --model ([^)]+)\)", r"type one in the Model field, e.g. \1"),
    (r"pass a template such as --template '([^']*)'", r"write a prompt template such as “\1”"),
    (r"; pass a format: --format [a-z|]+", ": choose it in the Format list"),
    (r"; expected --format [a-z|]+", ": choose one in the Format list"),
    (r"drop --format \(or pass --format xlsx\)",
     "choose Detect (or Excel workbook) in the Format list"),
    (r"or pass --format xlsx", "or choose Excel workbook in the Format list"),
    (r"drop --format to", "choose Detect in the Format list to"),
    (r"see --sheet", "choose another in the Sheet list"),
)]
_FILES_OF = re.compile(r"^(csv|tsv|text|xlsx) files")
_CHOSEN = re.compile(r"--format (\w+) was given")
_OPTION = re.compile(r"the '(\w+)' option")


def import_message(message: str) -> str:
    """A reader's message in the import dialog's terms (fields and lists, not flags)."""
    text = message
    if text.startswith("template: "):  # the reader names the field, and the dialog did too
        text = text[len("template: "):]
    text = _CHOSEN.sub(lambda m: f"“{FORMAT_WORDS.get(m.group(1), m.group(1))}” was chosen "
                                 "in the Format list", text)
    text = _OPTION.sub(lambda m: f"the {FIELDS.get(m.group(1), m.group(1))}", text)
    text = _FILES_OF.sub(lambda m: f"{FORMAT_WORDS[m.group(1)]} files", text)
    for pattern, words in _IMPORT_PHRASES:
        text = pattern.sub(words, text)
    text = re.sub(r"\bJSONL\b", "JSON Lines", text)
    if text.startswith(("is ", "looks like ", "not an ")):  # said of the file
        text = f"this file {text}"
    elif text.startswith("file "):
        text = f"this {text}"
    return plain(text)


def import_problem(error: LineError) -> str:
    """One problem of a file, with its line and the field to fix, never the file's path
    (the dialog shows which file) or an option's internal name."""
    message = import_message(error.message)
    where = f"Line {error.line:,}" if error.line is not None else ""
    field = error.field
    if field is not None:
        label = FIELDS.get(field)
        if label is not None and error.line is None:
            named = label.lower() in message.lower() or field in message.lower()
            where = "" if named else label
        elif label is None and f"'{field}'" not in message and field not in message:
            where = f"{where}, {field}" if where else field  # a field of the user's own line
    if not where:
        return message
    return f"{where}: {message[:1].lower()}{message[1:]}"


# -- connection verdicts and keyrings -------------------------------------------------------


def host_of(profile: Profile) -> str:
    """The server a profile talks to, as people name it ("api.openai.com")."""
    if profile.is_builtin_sandbox:
        return "the built-in sandbox"
    defaults = {ProfileKind.OPENAI: "https://api.openai.com/v1",
                ProfileKind.ANTHROPIC: ANTHROPIC_BASE_URL}
    url = profile.base_url or defaults.get(ProfileKind(profile.kind), "")
    parts = urlsplit(url)
    if not parts.hostname:
        return "the provider"
    return parts.hostname + (f":{parts.port}" if parts.port else "")


def _why_unreachable(message: str) -> str:
    m = message.lower()
    if any(words in m for words in ("name or service not known", "nodename nor servname",
                                    "name resolution", "getaddrinfo", "errno -2", "errno -3",
                                    "errno -5", "no address associated")):
        return "the name does not resolve"
    if "did not answer in time" in m or "timed out" in m or "stopped answering" in m:
        return "it did not answer in time"
    if "certificate" in m or "ssl" in m or "tls" in m:
        return "the secure connection failed (its certificate is not trusted here)"
    if "refused" in m or "all connection attempts failed" in m or "errno 111" in m:
        return "nothing answers at that address"
    return "the connection failed"


_STATUS = re.compile(r"\((\d{3})(?: [a-z_]+)?\): (.*)", re.S)


def _provider_said(message: str) -> tuple[str, str]:
    """(HTTP status, the provider's own words) from a provider error's message."""
    found = _STATUS.search(message)
    if found is None:
        return "", plain(message)
    detail = re.split(r"\.? Check the (?:API key|key's)", found.group(2))[0].strip()
    return found.group(1), detail.rstrip(".") + "."


def verdict(kind: str, message: str, profile: Profile, *, keyring: bool = True) -> str:
    """What testing a profile's connection found, in words (``kind``: works, key refused,
    unreachable, no key, error; ``message``: the service's, which may name commands;
    ``keyring``: whether a key can be stored here)."""
    host = host_of(profile)
    if kind == "works":
        return f"Works: {host} accepted the key."
    if kind == "no key":
        env = profile.key_env or default_key_env(profile.kind)
        if not keyring:
            where = (f"set the environment variable {env}" if env else
                     "name an environment variable that holds it in “Key env var”")
            return (f"No key: “{profile.name}” has no API key, and there is no OS keyring to "
                    f"store one in: {where} before starting Batcher.")
        where = (f", or set the environment variable {env} before starting Batcher"
                 if env else "")
        return (f"No key: “{profile.name}” has no API key yet. Paste it above and press "
                f"Save key{where}.")
    status, said = _provider_said(message)
    if kind == "key refused":
        if status == "403":
            return (f"Key refused: {host} says this key may not do this (403: {said}) Check "
                    "the key's project, organisation and permissions.")
        return (f"Key refused: {host} did not accept this key ({status or 'refused'}: {said}) "
                "Paste the right key above and press Save key, or fix the environment "
                "variable the profile reads.")
    if kind == "unreachable":
        if "busy or failing" in message:
            return (f"Unreachable: {host} answered, but is busy or failing ({status}: {said}) "
                    "Try again in a minute.")
        return (f"Unreachable: cannot reach {host}: {_why_unreachable(message)} — check the "
                "base URL and your network.")
    if status == "404":
        root = ("Anthropic's API root, e.g. https://api.anthropic.com (without /v1)"
                if ProfileKind(profile.kind) is ProfileKind.ANTHROPIC
                else "the API root, e.g. ending in /v1")
        return (f"Error: {host} answered, but has no batch API at this base URL (404: {said}) "
                f"Check that the base URL is {root}.")
    return f"Error: {plain(message)}"


def no_keyring(reason: str | None) -> str:
    """Why no key can be stored here, and what to do instead."""
    why = reason or "no OS keyring is available on this system"
    locked = "locked" in why
    first = ("The OS keyring is locked, so Batcher cannot store a key now: unlock it (e.g. "
             "log in to your desktop again) and try again, or keep the key in an environment "
             "variable instead." if locked else
             f"{why[:1].upper()}{why[1:]}, so Batcher cannot store a key here. Keep the key "
             "in an environment variable instead.")
    return (f"{first} Set the variable before starting Batcher (e.g. export MY_API_KEY=…), "
            "type its name in “Key env var” above and press Save profile. OpenAI profiles "
            f"also read {OPENAI_KEY_ENV}, Anthropic (Claude) profiles {ANTHROPIC_KEY_ENV}.")

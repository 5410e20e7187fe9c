"""Preferences → Provider profiles: the fields that depend on the provider — a Claude
profile's tier, and the presets that fill in a profile for an OpenAI-compatible provider."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QSpinBox, QWidget

from batcher_gui.config.presets import PRESETS, Preset
from batcher_gui.config.profiles import TIER_REQUESTS_RANGE, check_url
from batcher_gui.domain.capacity import (
    ANTHROPIC_TIERS,
    DEFAULT_ANTHROPIC_TIER,
    TIER_OPTION,
    queue_limit,
)
from batcher_gui.domain.models import ProfileKind

#: The kinds in the window's list, as people name them.
KINDS = ((ProfileKind.OPENAI, "OpenAI"), (ProfileKind.OPENAI_COMPATIBLE, "OpenAI-compatible"),
         (ProfileKind.AZURE, "Azure OpenAI"), (ProfileKind.ANTHROPIC, "Anthropic (Claude)"))
URL_HINTS = {ProfileKind.OPENAI: "empty: https://api.openai.com/v1",
             ProfileKind.OPENAI_COMPATIBLE: "required, e.g. http://localhost:8000/v1",
             ProfileKind.AZURE: "required, e.g. https://my-resource.openai.azure.com",
             ProfileKind.ANTHROPIC: "empty: https://api.anthropic.com (a /v1 at the end is "
                                    "dropped)"}
#: What the base URL is, per kind (its tooltip).
URL_TIPS = {ProfileKind.OPENAI: "The API root including /v1; empty for OpenAI's own",
            ProfileKind.OPENAI_COMPATIBLE: "The server's API root including /v1",
            ProfileKind.AZURE: "The Azure OpenAI resource endpoint",
            ProfileKind.ANTHROPIC: "Anthropic's API root, without /v1: the Anthropic SDK adds "
                                   "/v1 to every path, so a /v1 at the end is dropped when the "
                                   "profile is saved. Empty for Anthropic's own"}
#: The tier list's entries: Anthropic's tiers by name, then a number of the user's own.
CUSTOM = "custom"
TIER_CHOICES = (("Start", "start"), ("Build", "build"), ("Scale", "scale"),
                ("Custom number", CUSTOM))


class TierField(QWidget):
    """A Claude profile's tier (Start / Build / Scale, or a number of requests), and how many
    requests it lets wait in Anthropic's processing queue."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.choice = QComboBox()
        self.choice.setAccessibleName("Tier")
        self.choice.setToolTip("Your Anthropic organisation's tier: it limits how many batch "
                               "requests may wait in Anthropic's processing queue at once; "
                               "Batcher sends a batch only when its requests fit")
        for text, data in TIER_CHOICES:
            self.choice.addItem(text, data)
        self.custom = QSpinBox()
        self.custom.setRange(*TIER_REQUESTS_RANGE)
        self.custom.setGroupSeparatorShown(True)
        self.custom.setSuffix(" requests")
        self.custom.setAccessibleName("Requests that may wait")
        self.custom.setMinimumWidth(160)
        self.custom.setValue(ANTHROPIC_TIERS[DEFAULT_ANTHROPIC_TIER])
        self.room = QLabel()
        self.room.setAccessibleName("Requests that may wait at once")
        self.room.setTextFormat(Qt.TextFormat.PlainText)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.choice)
        layout.addWidget(self.custom)
        layout.addWidget(self.room, 1)
        self.choice.currentIndexChanged.connect(lambda _: self._changed())
        self.custom.valueChanged.connect(lambda _: self._changed())
        self._changed()

    def set_tier(self, options: dict[str, Any]) -> None:
        """Show the tier stored in a profile's options (the Start tier when none is)."""
        tier = options.get(TIER_OPTION, DEFAULT_ANTHROPIC_TIER)
        name = tier.strip().lower() if isinstance(tier, str) else None
        if name in ANTHROPIC_TIERS:
            self.choice.setCurrentIndex(self.choice.findData(name))
        else:
            self.custom.setValue(min(queue_limit(options), TIER_REQUESTS_RANGE[1]))
            self.choice.setCurrentIndex(self.choice.findData(CUSTOM))
        self._changed()

    def tier(self) -> str | int:
        """The tier as stored: a tier's name, or the custom number of requests."""
        data = self.choice.currentData()
        return self.custom.value() if data == CUSTOM else str(data)

    def _changed(self) -> None:
        self.custom.setVisible(self.choice.currentData() == CUSTOM)
        waiting = queue_limit({TIER_OPTION: self.tier()})
        self.room.setText(f"{waiting:,} requests may wait at once")


class PresetChooser(QWidget):
    """“Start from a preset…”: a list of providers whose batch API speaks OpenAI's; choosing
    one asks the form to fill itself in, and what was verified is said beneath."""

    #: the preset chosen (the form fills in its fields).
    chosen = Signal(object)

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.choice = QComboBox()
        self.choice.setAccessibleName("Start from a preset")
        self.choice.setToolTip("Fill in the kind, base URL, limits and key variable of a "
                               "provider whose batch API works like OpenAI's")
        self.choice.addItem("Start from a preset…", None)
        for preset in PRESETS.values():
            self.choice.addItem(preset.label, preset.key)
        self.choice.activated.connect(self._activated)
        self.note = QLabel()
        self.note.setWordWrap(True)
        self.note.setAccessibleName("What the preset was checked against")
        self.note.setTextFormat(Qt.TextFormat.PlainText)
        self.note.hide()
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.choice)
        layout.addStretch(1)

    def _activated(self, index: int) -> None:
        key = self.choice.itemData(index)
        self.choice.setCurrentIndex(0)  # a choice fills the form once; the list is no state
        if key is not None:
            self.chosen.emit(PRESETS[key])

    def say(self, preset: Preset | None) -> None:
        """Show what ``preset`` was verified against (None: nothing)."""
        self.note.setText(preset.verified if preset else "")
        self.note.setVisible(preset is not None)


def preset_of(kind: ProfileKind, base_url: str | None) -> Preset | None:
    """The preset a profile was made from, known by its URL (None: none)."""
    for preset in PRESETS.values():
        if kind is preset.kind and base_url == check_url(preset.kind, preset.base_url):
            return preset
    return None

"""Preferences → Provider profiles: the profiles list and one profile's fields (its API key
is in :class:`batcher_gui.ui.dialogs.settings_keys.KeyBox`), and what both pages share."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QMessageBox,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from batcher_gui.config.presets import Preset
from batcher_gui.config.profiles import (
    MAX_BATCH_BYTES_RANGE,
    MAX_REQUESTS_RANGE,
    ProfileFields,
    default_limits,
)
from batcher_gui.config.secrets import default_key_env
from batcher_gui.domain.budget import MONTH_CAP, RUN_CAP
from batcher_gui.domain.capacity import TIER_OPTION
from batcher_gui.domain.errors import BatcherError, InvalidInput
from batcher_gui.domain.models import Profile, ProfileKind, ProfileLimits
from batcher_gui.domain.wording import plural
from batcher_gui.ui.base.tasks import owned_tasks, spawn
from batcher_gui.ui.base.theme import state_colour
from batcher_gui.ui.dialogs.settings_kinds import (
    KINDS,
    URL_HINTS,
    URL_TIPS,
    PresetChooser,
    TierField,
    preset_of,
)
from batcher_gui.ui.dialogs.words import plain

if TYPE_CHECKING:
    from batcher_gui.app import Service

def plain_button(text: str, name: str | None = None) -> QPushButton:
    """A button that Enter in a text field never presses (QDialog's auto-default would)."""
    button = QPushButton(text)
    button.setAutoDefault(False)
    button.setAccessibleName(name or text)
    return button


class Message(QLabel):
    """An outcome in one paragraph: red with ✖ for a problem, green with ✔ for success."""

    def __init__(self, name: str) -> None:
        super().__init__()
        self.setWordWrap(True)
        self.setAccessibleName(name)
        self.setTextFormat(Qt.TextFormat.PlainText)  # messages quote the user's input
        self.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.hide()

    def say(self, text: str, state: str = "completed", mark: str = "✔") -> None:
        self.setText(f"{mark} {text}")
        self.setStyleSheet(f"color: {state_colour(state).name()};")
        self.show()

    def error(self, text: str) -> None:
        text = plain(text)
        ends = text.endswith((".", "?", "!")) or "/" in text.rsplit(" ", 1)[-1]  # (a URL)
        self.say(text if ends else f"{text}.", "failed", "✖")

    def clear_message(self) -> None:
        self.setText("")
        self.hide()


class Tasks:
    """The dialog's running service calls, owned by the dialog: closing it ends them (a
    connection test left waiting must not touch a closed dialog). Writes to the workspace are
    shielded where they are awaited (``asyncio.shield``), so they complete even then: a write
    stopped half-way would leave the service's settings behind the database's."""

    def __init__(self, owner: QObject) -> None:
        self.owner = owner

    def start(self, coro: Coroutine[Any, Any, Any], name: str) -> None:
        spawn(coro, name=f"settings-{name}", owner=self.owner)

    @property
    def idle(self) -> bool:
        return not owned_tasks(self.owner)


def _spin(low: int, high: int, name: str, suffix: str = "") -> QSpinBox:
    # The service's own limits, so the box cannot hold a value the service would refuse.
    spin = QSpinBox()
    spin.setRange(low, high)
    spin.setGroupSeparatorShown(True)  # 200,000,000 reads; 200000000 does not
    spin.setSuffix(suffix)
    spin.setAccessibleName(name)
    spin.setMinimumWidth(200)
    return spin


class ProfilesPage(QWidget):
    """Profiles on the left; the selected one's fields, key and connection test on the right."""

    #: a profile, or which one is the default, changed (the workspace page lists them).
    changed = Signal()
    #: the form now shows this profile (None: one being added); the key box follows it.
    shown = Signal(object)

    def __init__(self, service: Service, tasks: Tasks, parent: Any = None) -> None:
        super().__init__(parent)
        self.service, self.tasks = service, tasks
        self.profiles: list[Profile] = []
        self.current: Profile | None = None  # None: the form holds a profile being added
        self._limits_kind: ProfileKind | None = None  # whose default limits the boxes hold
        self._wanted: str | None = None
        self.confirm: QMessageBox | None = None
        self.list = QListWidget()
        self.list.setAccessibleName("Profiles")
        self.list.setMinimumWidth(200)
        self.list.currentRowChanged.connect(self._row_changed)
        self.add_button = plain_button("Add profile")
        self.add_button.clicked.connect(self.new_profile)
        self.delete_button = plain_button("Delete profile")
        self.delete_button.clicked.connect(self._ask_delete)
        left = QVBoxLayout()
        left.addWidget(self.list, 1)
        row = QHBoxLayout()
        row.addWidget(self.add_button)
        row.addWidget(self.delete_button)
        left.addLayout(row)

        self.presets = PresetChooser()
        self.presets.chosen.connect(self.fill_from_preset)
        self.name = QLineEdit()
        self.name.setPlaceholderText("e.g. groq or azure-eu")
        self.kind = QComboBox()
        for kind, text in KINDS:
            self.kind.addItem(text, kind.value)
        self.kind.currentIndexChanged.connect(lambda _: self._kind_changed())
        self.base_url = QLineEdit()
        self.key_env = QLineEdit()
        self.key_env.setToolTip("Read the key from this environment variable (where there is no "
                                "OS keyring to store it in)")
        self.tier = TierField()
        self.max_requests = _spin(*MAX_REQUESTS_RANGE, "Requests per batch")
        self.max_bytes = _spin(*MAX_BATCH_BYTES_RANGE, "Bytes per batch", " bytes")
        self.max_line = _spin(1_000, MAX_BATCH_BYTES_RANGE[1], "Bytes per request line", " bytes")
        self.poll = QLineEdit()  # text, not a spin box: empty means "the workspace's setting"
        self.budget_run = QLineEdit()
        self.budget_run.setPlaceholderText("empty: no cap")
        self.budget_run.setToolTip("A run whose estimated cost is above this is sent only "
                                   "once you confirm")
        self.budget_month = QLineEdit()
        self.budget_month.setPlaceholderText("empty: no cap")
        self.budget_month.setToolTip("Submitting past this month's spending on this profile "
                                     "asks first")
        self.is_default = QCheckBox("imports use this profile when they name none")
        self.form = QFormLayout()
        self.form.addRow("Preset", self.presets)
        self.form.addRow(self.presets.note)
        for label, field in (("Name", self.name), ("Kind", self.kind), ("Base URL", self.base_url),
                             ("Key env var", self.key_env), ("Tier", self.tier),
                             ("Requests per batch", self.max_requests),
                             ("Bytes per batch", self.max_bytes),
                             ("Bytes per request line", self.max_line),
                             ("Poll interval (seconds)", self.poll),
                             ("Budget per run (USD)", self.budget_run),
                             ("Budget per month (USD)", self.budget_month),
                             ("Default profile", self.is_default)):
            self.form.addRow(label, field)
            if not field.accessibleName():
                field.setAccessibleName(label)
        self.save_button = plain_button("Save profile")
        self.save_button.clicked.connect(lambda: self.tasks.start(self.save(), "save-profile"))
        self.message = Message("Profile message")
        buttons = QHBoxLayout()
        buttons.addWidget(self.message, 1)
        buttons.addWidget(self.save_button, 0, Qt.AlignmentFlag.AlignTop)
        self.details = QGroupBox("Profile")
        self.details.setEnabled(False)  # until the profiles have been read
        inner = QVBoxLayout(self.details)
        inner.addLayout(self.form)
        inner.addLayout(buttons)
        self.right = QVBoxLayout()  # the dialog adds the key box below the form
        self.right.addWidget(self.details)
        self.right.addStretch(1)
        layout = QHBoxLayout(self)
        layout.addLayout(left)
        layout.addLayout(self.right, 1)
        self.delete_button.setEnabled(False)

    # -- the list ----------------------------------------------------------------------------
    async def reload(self, select: str | None = None) -> None:
        """Read the profiles again; show ``select`` (else the one asked for, else the same)."""
        self.profiles = await self.service.profiles()
        wanted = select or self._wanted or (self.current.name if self.current else None)
        self._wanted = None
        default = self.service.settings.default_profile
        self.list.blockSignals(True)  # one selection change below, not one per row
        self.list.clear()
        for profile in self.profiles:
            notes = [note for note, yes in (("default", profile.name == default),
                                            ("built-in", profile.is_builtin_sandbox)) if yes]
            self.list.addItem(profile.name + (f"  ({', '.join(notes)})" if notes else ""))
        names = [p.name for p in self.profiles]
        self.list.setCurrentRow(names.index(wanted) if wanted in names else 0)
        self.list.blockSignals(False)
        self._row_changed(self.list.currentRow())

    def select_profile(self, name: str) -> None:
        """Show the profile ``name`` (now, or once the list has been read)."""
        names = [p.name for p in self.profiles]
        if name in names:
            self.list.setCurrentRow(names.index(name))
        else:
            self._wanted = name

    def _row_changed(self, row: int) -> None:
        if 0 <= row < len(self.profiles):
            self.show_profile(self.profiles[row])

    def new_profile(self) -> None:
        self.list.clearSelection()
        self.show_profile(None)
        self.name.setFocus()

    def show_profile(self, profile: Profile | None) -> None:
        """Fill the form with ``profile`` (None: an empty form for a new one)."""
        self.current = profile
        self.message.clear_message()
        fields = profile or ProfileFields("", ProfileKind.OPENAI_COMPATIBLE)
        sandbox = profile is not None and profile.is_builtin_sandbox
        self._limits_kind = None  # the boxes hold this profile's own limits
        self.name.setText(fields.name)
        self.kind.blockSignals(True)  # the form is filled below, once
        self.kind.setCurrentIndex(max(0, self.kind.findData(ProfileKind(fields.kind).value)))
        self.kind.blockSignals(False)
        self.base_url.setText(fields.base_url or "")
        self.key_env.setText(fields.key_env or "")
        self._show_limits(profile.limits if profile else default_limits(fields.kind))
        self._limits_kind = None if profile else ProfileKind(fields.kind)
        self.tier.set_tier(fields.options)
        self.presets.say(preset_of(ProfileKind(fields.kind), fields.base_url))
        poll = fields.options.get("poll_interval_seconds")
        self.poll.setText("" if poll is None else f"{float(poll):g}")
        for box, key in ((self.budget_run, RUN_CAP), (self.budget_month, MONTH_CAP)):
            cap = fields.options.get(key)
            box.setText("" if cap is None else f"{float(cap):g}")
        s = self.service.settings
        now = s.sandbox_poll_interval_seconds if sandbox else s.poll_interval_seconds
        self.poll.setPlaceholderText(f"empty: the workspace's setting, now {now:g}")
        default = profile is not None and profile.name == s.default_profile
        self.is_default.setChecked(default)
        self.details.setEnabled(True)
        # The built-in sandbox is served by Batcher itself: where it is and what it speaks.
        self.kind.setEnabled(not sandbox)
        self.presets.setEnabled(not sandbox)
        self.base_url.setReadOnly(sandbox)
        self.is_default.setEnabled(not default)  # another profile takes over, never none
        self.is_default.setToolTip("Tick it on another profile to change the default"
                                   if default else "")
        self.delete_button.setEnabled(profile is not None)
        self._kind_changed()
        self.shown.emit(profile)

    def _show_limits(self, limits: ProfileLimits) -> None:
        self.max_requests.setValue(limits.max_requests)
        self.max_bytes.setValue(limits.max_batch_bytes)
        self.max_line.setValue(limits.max_line_bytes)

    def _kind_changed(self) -> None:
        kind = ProfileKind(self.kind.currentData())
        self.base_url.setPlaceholderText(URL_HINTS[kind])
        self.base_url.setToolTip(URL_TIPS[kind])
        default = default_key_env(kind)
        self.key_env.setPlaceholderText(f"optional ({default} is read anyway)" if default
                                        else "optional, e.g. GROQ_API_KEY")
        self.form.setRowVisible(self.tier, kind is ProfileKind.ANTHROPIC)
        # A new profile's limits follow its kind until the user changes them (Claude batches
        # hold twice as many requests as OpenAI's).
        shown = ProfileLimits(self.max_requests.value(), self.max_bytes.value(),
                              self.max_line.value())
        if self._limits_kind is not None and shown == default_limits(self._limits_kind):
            self._show_limits(default_limits(kind))
            self._limits_kind = kind

    def fill_from_preset(self, preset: Preset) -> None:
        """Fill the form from ``preset`` (a new profile is named after it); saving stores it."""
        if not self.name.text().strip():
            self.name.setText(preset.key)
        self.kind.setCurrentIndex(self.kind.findData(preset.kind.value))
        self.base_url.setText(preset.base_url)
        self.key_env.setText(preset.key_env)
        self._show_limits(preset.limits)
        self._limits_kind = None  # the preset's limits stay whatever the kind
        self.presets.say(preset)
        self.message.clear_message()

    # -- saving and deleting -----------------------------------------------------------------
    def _read_form(self) -> ProfileFields:
        options = dict(self.current.options) if self.current else {}  # e.g. Azure's api_version
        options.pop("poll_interval_seconds", None)
        kind = ProfileKind(self.kind.currentData())
        options.pop(TIER_OPTION, None)
        if kind is ProfileKind.ANTHROPIC:
            options[TIER_OPTION] = self.tier.tier()
        poll = self.poll.text().strip()
        if poll:
            try:
                options["poll_interval_seconds"] = float(poll)
            except ValueError:
                raise InvalidInput("the poll interval must be a number of seconds, e.g. 60 "
                                   "(or empty for the workspace's setting)") from None
        for box, key, what in ((self.budget_run, RUN_CAP, "budget per run"),
                               (self.budget_month, MONTH_CAP, "budget per month")):
            options.pop(key, None)
            text = box.text().strip().lstrip("$")
            if text:
                try:
                    options[key] = float(text)
                except ValueError:
                    raise InvalidInput(f"the {what} must be an amount in USD, e.g. 25 (or "
                                       "empty for no cap)") from None
        limits = ProfileLimits(self.max_requests.value(), self.max_bytes.value(),
                               self.max_line.value())
        return ProfileFields(self.name.text(), kind, self.base_url.text(), self.key_env.text(),
                             limits, options)

    async def save(self) -> None:
        """Add the profile in the form, or store its changes; a refusal changes nothing."""
        self.save_button.setEnabled(False)
        try:
            fields = self._read_form()
            if self.current is None:
                profile = await asyncio.shield(self.service.add_profile(
                    fields, make_default=self.is_default.isChecked()))
                said = f"Added the profile “{profile.name}”."
            else:
                changes = {f.name: getattr(fields, f.name) for f in dataclasses.fields(fields)}
                if self.current.is_builtin_sandbox:
                    del changes["kind"], changes["base_url"]
                profile = await asyncio.shield(
                    self.service.edit_profile(self.current.name, **changes))
                if (self.is_default.isChecked()
                        and self.service.settings.default_profile != profile.name):
                    await asyncio.shield(
                        self.service.set_setting("default_profile", profile.name))
                said = f"Saved the profile “{profile.name}”."
        except BatcherError as exc:
            self.message.error(str(exc))
            return
        finally:
            self.save_button.setEnabled(True)
        await self.reload(select=profile.name)
        self.message.say(said)
        self.changed.emit()

    def _ask_delete(self) -> None:
        self.tasks.start(self._ask_delete_async(), "ask-delete-profile")

    async def _ask_delete_async(self) -> None:
        profile = self.current
        if profile is None:
            return
        if profile.name == self.service.settings.default_profile:
            self.message.error(f"“{profile.name}” is the default profile, so it stays: make "
                               "another profile the default first (tick “Default profile” on it).")
            return
        using = sum(run.profile_id == profile.id for run in await self.service.runs())
        if using:
            them = "it" if using == 1 else "them"
            self.message.error(f"{plural(using, 'run')} {'uses' if using == 1 else 'use'} "
                               f"“{profile.name}”, so it stays: delete {them} first (until "
                               f"then {'its' if using == 1 else 'their'} results stay in the "
                               "workspace).")
            return
        self.confirm = QMessageBox(
            QMessageBox.Icon.Question, "Delete profile", f"Delete the profile “{profile.name}”?",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel, self)
        self.confirm.setInformativeText("A key stored for it stays in the OS keyring (press "
                                        "Remove key first to delete that too).")
        self.confirm.accepted.connect(lambda: self.tasks.start(self.delete(profile.name),
                                                               "delete-profile"))
        self.confirm.open()  # not exec(): a nested event loop would re-enter qasync

    async def delete(self, name: str) -> None:
        try:
            await asyncio.shield(self.service.remove_profile(name))
        except BatcherError as exc:
            self.message.error(str(exc))
            return
        self.current = None
        await self.reload()
        self.message.say(f"Deleted the profile “{name}”.")
        self.changed.emit()

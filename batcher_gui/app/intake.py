"""The intake API's rules: tokens, which run and profile a request goes to, what is refused.

The HTTP layer (:mod:`batcher_gui.server.intake`) only moves bytes; everything it answers is
decided here, as :class:`Accepted` values or :class:`IntakeRefused` errors that carry the
status and JSON body to send (the predecessor's shapes, see :mod:`batcher_gui.domain.intake_api`).

Sending rule: requests fill their run's draft batches (one per endpoint and model, within the
profile's limits) like an import's. The engine seals and sends a draft when it is full, or when
no request has joined it for ``auto_seal_quiet_seconds`` (a workspace setting, default 600 s);
``batcher submit`` sends drafts at once.
"""

from __future__ import annotations

import asyncio
import datetime
import hashlib
import hmac
import io
import logging
import secrets
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import orjson

from batcher_gui.domain.errors import BatcherError, InvalidInput, NotFound
from batcher_gui.domain.events import RunsChanged
from batcher_gui.domain.intake_api import (
    FieldProblem,
    IntakeRequest,
    check_request,
    day_run_name,
)
from batcher_gui.domain.models import LINE_OVERHEAD, Profile, ProfileKind
from batcher_gui.domain.secrecy import KNOWN_SECRETS
from batcher_gui.importing.bodycheck import endpoint_checks, explain_required
from batcher_gui.storage.intake_rows import (
    DuplicateIds,
    Group,
    IntakeConflict,
    IntakeRows,
    Item,
    Landed,
    StoredToken,
)

if TYPE_CHECKING:
    from batcher_gui.app.service import Service

log = logging.getLogger(__name__)

TOKEN_PREFIX = "btk_"
#: Problems listed in a refused bulk (the count of all of them is given too).
BULK_ERRORS_SHOWN = 20
#: last_used_at of a token is written at most this often (not on every request).
_TOUCH_EVERY = 60.0
#: Profiles are read again after this long (not on every request).
_PROFILES_FOR = 1.0
#: Single requests waiting together are written in one transaction, at most this many.
_GROUP_COMMIT = 500
_ENDPOINTS = endpoint_checks()


class IntakeRefused(BatcherError):
    """A request the intake API refuses: ``status`` and the JSON ``body`` to answer with."""

    def __init__(self, status: int, body: dict[str, Any]) -> None:
        super().__init__(f"{status}: {body}")
        self.status = status
        self.body = body


@dataclass(frozen=True, slots=True)
class Accepted:
    """Requests that landed: how many, in which run."""

    count: int
    run: str
    custom_id: str | None = None


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _unprocessable(problems: Iterable[FieldProblem], **extra: Any) -> IntakeRefused:
    return IntakeRefused(422, {"errors": [p.as_json() for p in problems], **extra})


def _validation_error(pointer: str, detail: str) -> IntakeRefused:
    return IntakeRefused(422, {"error": "validation_error",
                               "errors": [FieldProblem(pointer, detail).as_json()]})


def _duplicates(taken: list[str], lines: dict[str, int] | None = None) -> IntakeRefused:
    body: dict[str, Any] = {"error": "duplicate_custom_id",
                            "detail": f"custom_id already exists: {taken[0]}"}
    if lines is None:
        body["custom_id"] = taken[0]
    else:
        body["duplicates"] = [{"line": lines[c], "custom_id": c}
                              for c in taken[:BULK_ERRORS_SHOWN]]
        body["duplicate_count"] = len(taken)
    return IntakeRefused(409, body)


class Intake:
    """The intake API's rules over one open workspace (:class:`Service`)."""

    def __init__(self, service: Service) -> None:
        self.service = service
        self.rows = IntakeRows(service.store.db)
        self._touched: dict[int, float] = {}
        self._runs_said = 0.0
        self._profiles: tuple[float, dict[str, Profile]] = (-_PROFILES_FOR, {})
        # Single requests that arrive while a write is under way wait here and are written
        # together by one drain task (a group commit): one transaction for many calls.
        self._waiting: list[tuple[Group, asyncio.Future[Landed | BatcherError]]] = []
        self._drain: asyncio.Task[None] | None = None

    # -- tokens ----------------------------------------------------------------------------
    async def create_token(self, name: str) -> tuple[StoredToken, str]:
        """A new token: (its row, the token itself: shown once, only its hash is kept)."""
        name = name.strip()
        if not name or len(name) > 100 or not name.isprintable():
            raise InvalidInput("a token name must be 1 to 100 printable characters")
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        KNOWN_SECRETS.remember(token)
        stored = await self.service.write(self.rows.add_token, name, hash_token(token))
        return stored, token

    async def tokens(self) -> list[StoredToken]:
        return await self.service.read(self.rows.list_tokens)

    async def revoke_token(self, name: str) -> StoredToken:
        stored = await self.service.write(self.rows.revoke_token, name)
        if stored is None:
            raise NotFound(f"no intake token named {name!r} (see `batcher intake token list`)")
        return stored

    async def authenticate(self, token: str | None) -> int | None:
        """The id of a valid, unrevoked token; None for anything else."""
        if not token or not token.startswith(TOKEN_PREFIX) or len(token) > 200:
            return None
        wanted = hash_token(token)
        found = await self.service.read(self.rows.token_by_hash, wanted)
        # The lookup is by hash (an index); the compare of the hashes takes constant time.
        if found is None or not hmac.compare_digest(found[1], wanted) or found[2] is not None:
            return None
        token_id = found[0]
        now = time.time()
        if now - self._touched.get(token_id, 0.0) >= _TOUCH_EVERY:
            self._touched[token_id] = now
            await self.service.write(self.rows.touch_token, token_id, now)
        return token_id

    # -- requests --------------------------------------------------------------------------
    async def submit(self, obj: Any, *, token_id: int | None, run: str | None = None,
                     profile: str | None = None) -> Accepted:
        """One request (a parsed JSON value); ``run``/``profile``: from the headers."""
        request = check_request(obj)
        if isinstance(request, list):
            raise _unprocessable(request)
        chosen = await self._profile(request.profile or profile)
        item = self._item(request, chosen)
        if isinstance(item, FieldProblem):
            raise _unprocessable([item])
        run_name = request.run or run or self._day_run()
        await self._land(run_name, chosen, [item], request.webhook, token_id, None, grouped=True)
        return Accepted(1, run_name, request.custom_id)

    async def submit_bulk(self, data: bytes, *, token_id: int | None, run: str | None = None,
                          profile: str | None = None) -> Accepted:
        """Requests as JSONL: all of them land, or (any line bad) none."""
        loop = asyncio.get_running_loop()
        profiles = await self._all_profiles()
        default = profile or self.service.settings.default_profile
        checked = await loop.run_in_executor(None, self._check_bulk, data, profiles, default,
                                             run)
        run_name, chosen, webhook, items, lines = checked
        await self._land(run_name, chosen, items, webhook, token_id, lines)
        return Accepted(len(items), run_name)

    async def find(self, custom_id: str) -> dict[str, Any]:
        found = await self.service.read(self.rows.find, custom_id)
        if found is None:
            raise IntakeRefused(404, {"error": "not_found",
                                      "detail": f"no request with custom_id {custom_id!r}"})
        for key in ("created_at", "updated_at"):
            found[key] = _iso(found[key])
        raw = found.pop("response")
        try:
            found["response"] = None if raw is None else orjson.loads(raw)
        except orjson.JSONDecodeError:
            found["response"] = raw.decode("utf-8", "replace")
        return found

    # -- the rules -------------------------------------------------------------------------
    def _day_run(self) -> str:
        return day_run_name(datetime.date.today().isoformat())

    async def _all_profiles(self) -> dict[str, Profile]:
        read_at, profiles = self._profiles
        if time.monotonic() - read_at >= _PROFILES_FOR:
            profiles = {p.name: p for p in await self.service.profiles()}
            self._profiles = (time.monotonic(), profiles)
        return profiles

    async def _profile(self, name: str | None) -> Profile:
        wanted = name or self.service.settings.default_profile
        profiles = await self._all_profiles()
        problem = _profile_problem(profiles, wanted)
        if isinstance(problem, FieldProblem):
            raise _unprocessable([problem])
        return problem

    def _item(self, request: IntakeRequest, profile: Profile) -> Item | FieldProblem:
        """The stored form of a request, or why the endpoint or profile cannot take it."""
        check = _ENDPOINTS.get(request.url)
        if check is None or not check(request.body):
            from batcher_gui.domain.endpoints import ENDPOINTS

            for field in ENDPOINTS[request.url].required:
                explained = explain_required(request.url, field, request.body)
                if explained is not None:
                    return FieldProblem("/body/" + field, explained[1])
        body = orjson.dumps(request.body)
        size = LINE_OVERHEAD + len(request.url) + len(body) + len(request.custom_id)
        if size > profile.limits.max_line_bytes:
            return FieldProblem("/body", f"the request is {size:,} bytes, over profile "
                                f"{profile.name!r}'s limit of "
                                f"{profile.limits.max_line_bytes:,} bytes per request")
        return (request.custom_id, request.url, request.model, body)

    def _check_bulk(self, data: bytes, profiles: dict[str, Profile], default: str,
                    header_run: str | None
                    ) -> tuple[str, Profile, str | None, list[Item], dict[str, int]]:
        """Every line checked (in a worker thread); refuses the lot on any problem."""
        problems: list[dict[str, Any]] = []
        count = 0
        items: list[Item] = []
        lines: dict[str, int] = {}
        target: tuple[str | None, str | None, str | None] | None = None
        chosen: dict[str, Profile | FieldProblem] = {}
        loads = orjson.loads

        def problem(line_no: int, found: FieldProblem) -> None:
            nonlocal count
            count += 1
            if len(problems) < BULK_ERRORS_SHOWN:
                problems.append({"line": line_no, **found.as_json()})

        # Line by line off one buffer (not a list of 100,000 lines held at once).
        for line_no, raw in enumerate(io.BytesIO(data), 1):
            if not raw.strip():
                continue
            try:
                obj = loads(raw)
            except orjson.JSONDecodeError as exc:
                problem(line_no, FieldProblem("", f"not valid JSON: {exc}"))
                continue
            request = check_request(obj)
            if isinstance(request, list):
                for found in request:
                    problem(line_no, found)
                continue
            key = (request.run, request.profile, request.webhook)
            if target is None:
                target = key
            elif key != target:
                problem(line_no, FieldProblem("", "all lines of a bulk go to one run: this "
                                              "line's run, profile or delivery_config differs "
                                              "from the first line's"))
                continue
            name = request.profile or default
            if name not in chosen:
                chosen[name] = _profile_problem(profiles, name)
            profile = chosen[name]
            if isinstance(profile, FieldProblem):
                problem(line_no, profile)
                continue
            first = lines.setdefault(request.custom_id, line_no)
            if first != line_no:
                problem(line_no, FieldProblem("/custom_id", f"duplicate custom_id "
                                              f"{request.custom_id!r}: already on line {first}"))
                continue
            item = self._item(request, profile)
            if isinstance(item, FieldProblem):
                problem(line_no, item)
                continue
            items.append(item)
        if problems:
            raise IntakeRefused(422, {"errors": problems, "error_count": count})
        if not items or target is None:
            raise IntakeRefused(422, {"errors": [FieldProblem("", "the bulk holds no "
                                                                  "requests").as_json()]})
        run, profile_name, webhook = target
        profile = chosen[profile_name or default]
        assert isinstance(profile, Profile)
        return run or header_run or self._day_run(), profile, webhook, items, lines

    async def _land(self, run_name: str, profile: Profile, items: list[Item],
                    webhook: str | None, token_id: int | None,
                    lines: dict[str, int] | None, *, grouped: bool = False) -> None:
        group: Group = (run_name, profile, items, webhook, token_id)
        if grouped:
            landed = await self._grouped(group)
        else:
            [landed] = await self.service.write(self.rows.add_groups, [group])
        if isinstance(landed, DuplicateIds):
            raise _duplicates(landed.custom_ids, lines)
        if isinstance(landed, IntakeConflict):
            raise _validation_error("/run", str(landed))
        if isinstance(landed, BatcherError):
            raise landed
        if landed.full:
            await self.service._acted()  # a full draft is sent at once
        now = time.monotonic()
        if now - self._runs_said >= 1.0:  # windows refresh their run list once a second
            self._runs_said = now
            self.service._emit(RunsChanged(f"intake into run #{landed.run_id}"))

    async def _grouped(self, group: Group) -> Landed | BatcherError:
        future: asyncio.Future[Landed | BatcherError] = (
            asyncio.get_running_loop().create_future())
        self._waiting.append((group, future))
        if self._drain is None or self._drain.done():
            self._drain = asyncio.get_running_loop().create_task(self._write_waiting(),
                                                                 name="intake-group-commit")
        return await future

    async def _write_waiting(self) -> None:
        while self._waiting:
            batch = self._waiting[:_GROUP_COMMIT]
            del self._waiting[:_GROUP_COMMIT]
            try:
                results = await self.service.write(self.rows.add_groups,
                                                   [group for group, _ in batch])
            except BaseException as exc:  # noqa: BLE001 - every waiting call gets it
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                if isinstance(exc, asyncio.CancelledError):
                    raise
                continue
            for (_, future), result in zip(batch, results, strict=True):
                if not future.done():
                    future.set_result(result)


def _profile_problem(profiles: dict[str, Profile], name: str) -> Profile | FieldProblem:
    profile = profiles.get(name)
    if profile is None:
        return FieldProblem("/profile", f"no profile named {name!r} (profiles: "
                                        f"{', '.join(sorted(profiles)) or 'none'})")
    if profile.kind is ProfileKind.ANTHROPIC:
        return FieldProblem("/profile", f"profile {name!r} is a Claude profile: the intake "
                                        "API takes OpenAI batch requests")
    return profile


def _iso(at: float | None) -> str | None:
    if at is None:
        return None
    return datetime.datetime.fromtimestamp(at, datetime.UTC).isoformat(timespec="milliseconds")

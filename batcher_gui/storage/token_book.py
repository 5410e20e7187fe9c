"""Counted tokens: prompts waiting to be counted, counts stored, a batch's room in the
provider's token queue and what its model already has there."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import text

from batcher_gui.domain.states import BatchState, PromptState
from batcher_gui.storage.db import Database

B = BatchState
#: States in which a batch's tokens sit in the provider's queue.
QUEUED = (B.UPLOADING, B.VALIDATING, B.IN_PROGRESS, B.FINALIZING)
#: (prompt id, endpoint, model, body, run id)
Uncounted = tuple[int, str, str, bytes, int]
#: (prompt id, input tokens, output bound, run id, model)
Counted = tuple[int, int, int, int, str]


class TokenBook:
    def __init__(self, db: Database) -> None:
        self.db = db
        self._uncounted_index = db.dialect.indexed_by("ix_prompts_uncounted")

    def uncounted(self, limit: int, after_id: int = 0) -> list[Uncounted]:
        """The next prompts without a count, by id (the partial index holds only those)."""
        with self.db.read() as conn:
            return [(r[0], r[1], r[2], bytes(r[3]), r[4]) for r in conn.execute(text(
                "SELECT id, endpoint, model, body, run_id FROM prompts "
                f"{self._uncounted_index} "
                "WHERE est_input_tokens IS NULL AND id > :after ORDER BY id LIMIT :n"),
                {"after": after_id, "n": limit})]

    def uncounted_total(self) -> int:
        with self.db.read() as conn:
            return int(conn.scalar(text(
                f"SELECT count(*) FROM prompts {self._uncounted_index} "
                "WHERE est_input_tokens IS NULL")) or 0)

    def store_counts(self, counts: Sequence[Counted]) -> None:
        """Store each prompt's counts and add them to its run's sums, in one transaction; a
        prompt deleted meanwhile (or counted already) changes nothing."""
        if not counts:
            return
        with self.db.write() as conn:
            raw = conn.connection.driver_connection
            assert raw is not None
            sums: dict[tuple[int, str], list[int]] = {}
            set_count = self.db.dialect.driver_sql(
                "UPDATE prompts SET est_input_tokens = ?, est_output_tokens = ? "
                "WHERE id = ? AND est_input_tokens IS NULL")
            for prompt_id, tokens_in, bound, run_id, model in counts:
                changed = raw.execute(set_count, (tokens_in, bound, prompt_id)).rowcount
                if changed:
                    total = sums.setdefault((run_id, model), [0, 0, 0])
                    total[0] += 1
                    total[1] += tokens_in
                    total[2] += bound
            for (run_id, model), (n, tokens_in, bound) in sums.items():
                raw.execute(self.db.dialect.driver_sql(
                    "INSERT INTO run_tokens (run_id, model, prompts, input_tokens, output_bound) "
                    "SELECT ?, ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM runs WHERE id = ?) "
                    "ON CONFLICT (run_id, model) DO UPDATE SET prompts = run_tokens.prompts + "
                    "excluded.prompts, input_tokens = run_tokens.input_tokens + "
                    "excluded.input_tokens, output_bound = run_tokens.output_bound + "
                    "excluded.output_bound"),
                    (run_id, model, n, tokens_in, bound, run_id))

    def batch_uncounted(self, batch_id: int) -> list[Uncounted]:
        """The batch's prompts to be sent that have no count yet."""
        return self._pending_uncounted("batch_id", batch_id)

    def _pending_uncounted(self, column: str, value: int) -> list[Uncounted]:
        with self.db.read() as conn:
            return [(r[0], r[1], r[2], bytes(r[3]), r[4]) for r in conn.execute(text(
                f"SELECT id, endpoint, model, body, run_id FROM prompts WHERE {column} = :v "
                "AND state = :s AND est_input_tokens IS NULL"),
                {"v": value, "s": PromptState.PENDING.value})]

    def batch_needs(self, batch_id: int) -> int:
        """Input tokens of the batch's prompts that are to be sent."""
        with self.db.read() as conn:
            return int(conn.scalar(text(
                "SELECT coalesce(sum(est_input_tokens), 0) FROM prompts WHERE batch_id = :b "
                "AND state = :s"), {"b": batch_id, "s": PromptState.PENDING.value}) or 0)

    def split_to_fit(self, batch_id: int, limit: int) -> int:
        """Keep in the batch the first of its pending prompts whose tokens fit ``limit`` (at
        least one); the rest leave it (no batch: the engine packs them into new batches).
        Returns how many left."""
        with self.db.write() as conn:
            rows = conn.exec_driver_sql(
                "SELECT id, coalesce(est_input_tokens, 0), request_bytes FROM prompts "
                "WHERE batch_id = ? AND state = ? ORDER BY id",
                (batch_id, PromptState.PENDING.value)).all()
            total, keep = 0, 0
            for tokens, _ in ((r[1], r[2]) for r in rows):
                if keep and total + tokens > limit:
                    break
                total += tokens
                keep += 1
            rest = rows[keep:]
            if not rest:
                return 0
            conn.exec_driver_sql(
                "UPDATE prompts SET batch_id = NULL WHERE batch_id = ? AND state = ? AND id >= ?",
                (batch_id, PromptState.PENDING.value, rest[0][0]))
            conn.exec_driver_sql(
                "UPDATE batches SET request_count = request_count - ?, bytes = max(bytes - ?, 0) "
                "WHERE id = ?", (len(rest), sum(r[2] for r in rest), batch_id))
            return len(rest)

    def queued_tokens(self, profile_id: int, model: str, but: int) -> int:
        """Input tokens of the model's other batches now in the provider's queue."""
        states = ", ".join(f"'{s.value}'" for s in QUEUED)
        with self.db.read() as conn:
            return int(conn.scalar(text(
                "SELECT coalesce(sum(est_input_tokens), 0) FROM batches WHERE profile_id = :p "
                f"AND model = :m AND id != :b AND state IN ({states})"),
                {"p": profile_id, "m": model, "b": but}) or 0)

    def queued_requests(self, profile_id: int, but: int) -> int:
        """Requests of the profile's other batches now in the provider's queue (Anthropic
        limits those, whatever the model)."""
        states = ", ".join(f"'{s.value}'" for s in QUEUED)
        with self.db.read() as conn:
            return int(conn.scalar(text(
                "SELECT count(*) FROM prompts WHERE batch_id IN (SELECT id FROM batches "
                f"WHERE profile_id = :p AND id != :b AND state IN ({states}))"),
                {"p": profile_id, "b": but}) or 0)

    def batch_requests(self, batch_id: int) -> int:
        """The batch's prompts still to be sent."""
        with self.db.read() as conn:
            return int(conn.scalar(text(
                "SELECT count(*) FROM prompts WHERE batch_id = :b AND state = :s"),
                {"b": batch_id, "s": PromptState.PENDING.value}) or 0)

    # -- budgets --------------------------------------------------------------------------------
    def run_uncounted(self, run_id: int) -> list[Uncounted]:
        """The run's prompts to be sent that have no count yet."""
        return self._pending_uncounted("run_id", run_id)

    def run_pending_tokens(self, run_id: int) -> dict[str, tuple[int, int]]:
        """Per model: input tokens and output bound of the run's prompts still to be sent."""
        with self.db.read() as conn:
            return {r[0]: (int(r[1]), int(r[2])) for r in conn.execute(text(
                "SELECT model, coalesce(sum(est_input_tokens), 0), "
                "coalesce(sum(est_output_tokens), 0) FROM prompts WHERE run_id = :r "
                "AND state = :s GROUP BY model"),
                {"r": run_id, "s": PromptState.PENDING.value})}

    def month_usage(self, profile_id: int, since: float) -> dict[str, tuple[int, int]]:
        """Per model: tokens of the profile's batches sent since ``since`` (as reported by the
        provider; batches still in its queue by their counted input)."""
        with self.db.read() as conn:
            return {r[0]: (int(r[1]), int(r[2])) for r in conn.execute(text(
                "SELECT model, coalesce(sum(coalesce(input_tokens, est_input_tokens, 0)), 0), "
                "coalesce(sum(coalesce(output_tokens, 0)), 0) FROM batches "
                "WHERE profile_id = :p AND created_at >= :t AND state NOT IN "
                "('draft', 'ready_for_upload') GROUP BY model"), {"p": profile_id, "t": since})}

    def budget_approved(self, run_id: int) -> bool:
        with self.db.read() as conn:
            return conn.scalar(text("SELECT budget_approved_at FROM runs WHERE id = :r"),
                               {"r": run_id}) is not None

    def approve_budget(self, run_id: int, at: float) -> None:
        with self.db.write() as conn:
            conn.execute(text("UPDATE runs SET budget_approved_at = :t WHERE id = :r"),
                         {"t": at, "r": run_id})

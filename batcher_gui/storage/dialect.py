"""The one seam between SQLite and PostgreSQL.

Storage code writes its hand-written SQL once, in SQLite's words and with ``?`` placeholders.
On PostgreSQL three things make that SQL run unchanged:

* :func:`to_format_params` turns ``?`` into psycopg's ``%s`` (and a literal ``%`` into ``%%``)
  for SQL handed straight to the driver (:meth:`Connection.exec_driver_sql`, and the views'
  raw connections); statements SQLAlchemy compiles need nothing;
* :data:`POSTGRES_COMPAT` defines, in the workspace's own schema, the few SQLite functions the
  queries use (``json_extract``, ``instr``, the two-argument ``min``/``max``...), created by the
  first migration;
* what differs in kind (locks, bulk loading, the engine's claim, change notifications) is asked
  of :class:`Dialect` below, never spelled out with an ``if`` elsewhere.
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass

from batcher_gui.paths import POSTGRES_SCHEMES, is_postgres_url

__all__ = ["is_postgres_url"]


#: Session-level advisory lock keys (one workspace per database; the numbers only need to be
#: Batcher's own): who drives, who imports, who migrates. Writers serialise on a
#: transaction-level lock with :data:`LOCK_WRITE`, as SQLite's ``BEGIN IMMEDIATE`` does.
LOCK_DRIVER = zlib.crc32(b"batcher:driver")
LOCK_IMPORT = zlib.crc32(b"batcher:import")
LOCK_MIGRATE = zlib.crc32(b"batcher:migrate")
LOCK_WRITE = zlib.crc32(b"batcher:write")
#: The channel every committed write notifies (windows and engines LISTEN on it).
CHANGES_CHANNEL = "batcher_changes"
#: The channel a user's wake-up call notifies (the driving engine LISTENs on it): apart from
#: the changes channel, which the engine's own writes notify all the time.
WAKE_CHANNEL = "batcher_wake"


def sqlalchemy_url(url: str) -> str:
    """``postgresql://…`` → ``postgresql+psycopg://…`` (psycopg 3, not SQLAlchemy's default
    psycopg2)."""
    scheme, sep, rest = url.partition("://")
    if scheme.lower() in ("postgresql", "postgres"):
        return f"postgresql+psycopg://{rest}"
    return url


def libpq_url(url: str) -> str:
    """The URL as libpq (psycopg.connect) takes it: no ``+psycopg``."""
    scheme, sep, rest = url.partition("://")
    return f"postgresql://{rest}" if scheme.lower() in POSTGRES_SCHEMES else url


# A string literal, a quoted name, a comment, a cast (``::``), a named parameter (``:name``),
# or one of the characters to translate.
_TOKENS = re.compile(
    r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|--[^\n]*|::|(?<![\w:]):[A-Za-z_]\w*|\?|%")


def to_format_params(sql: str, *, named: bool = False) -> str:
    """SQLite's ``?`` placeholders as psycopg's ``%s``; a ``%`` outside literals doubled.

    ``%`` inside a string literal is doubled too: psycopg reads the whole statement.

    Args:
        named: the parameters are a mapping, so SQLite's ``:name`` placeholders become
            psycopg's ``%(name)s`` (``::`` casts and literals are left alone).
    """
    def swap(match: re.Match[str]) -> str:
        token = match.group(0)
        if token == "?":
            return "%s"
        if token == "%":
            return "%%"
        if token.startswith("'"):
            return token.replace("%", "%%")
        if token.startswith(":") and token != "::":
            return f"%({token[1:]})s" if named else token
        return token

    return _TOKENS.sub(swap, sql)


@dataclass(frozen=True, slots=True)
class Dialect:
    """What differs between the two databases, asked by name."""

    name: str  # "sqlite" or "postgresql"

    @property
    def postgres(self) -> bool:
        return self.name == "postgresql"

    @property
    def has_fts5(self) -> bool:
        """The optional search index is SQLite's FTS5; PostgreSQL searches by scanning."""
        return not self.postgres

    def blob_text(self, column: str) -> str:
        """A BLOB column (``body``, ``response``: UTF-8 JSON) as text. SQLite's ``CAST(x AS
        TEXT)`` reads the bytes as text; PostgreSQL's cast of ``bytea`` gives hex digits."""
        if self.postgres:
            return f"convert_from({column}, 'UTF8')"
        return f"CAST({column} AS TEXT)"

    def unindexed(self, column: str) -> str:
        """``column`` in an ORDER BY or GROUP BY that must not choose its index: SQLite's
        ``+column`` (then the filters' indexes find the rows and they are sorted); PostgreSQL's
        planner weighs both by itself (and has no unary ``+`` for text)."""
        return column if self.postgres else f"+{column}"

    @property
    def indexes_end_in_id(self) -> bool:
        """SQLite's indexes hold the rowid (``id``) after their columns, so an index on
        (run_id, state) walks a state's prompts in id order; PostgreSQL's do not."""
        return not self.postgres

    @property
    def temp_schema(self) -> str:
        """The schema of a session's TEMP tables, for qualified names."""
        return "pg_temp" if self.postgres else "temp"

    def temp_index(self, name: str) -> str:
        """An index name for a TEMP table's index (PostgreSQL puts it beside its table by
        itself and refuses a schema there)."""
        return name if self.postgres else f"temp.{name}"

    @property
    def begin_snapshot(self) -> str:
        """A read transaction that sees one snapshot throughout."""
        return "BEGIN ISOLATION LEVEL REPEATABLE READ" if self.postgres else "BEGIN"

    @property
    def blob_type(self) -> str:
        return "BYTEA" if self.postgres else "BLOB"

    @property
    def autoincrement_key(self) -> str:
        """A column definition numbering rows as they are inserted (in INSERT … SELECT …
        ORDER BY order)."""
        return ("BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY" if self.postgres
                else "INTEGER PRIMARY KEY")

    def like(self, column: str) -> str:
        """``column LIKE ?`` ignoring case, as SQLite's LIKE does (PostgreSQL: ILIKE)."""
        return f"{column} {'ILIKE' if self.postgres else 'LIKE'} ? ESCAPE '\\'"

    def driver_sql(self, sql: str) -> str:
        """SQL in SQLite's words (``?`` placeholders) for a raw DB-API connection
        (``conn.connection.driver_connection``), which the translation in ``storage.db`` does
        not see."""
        return to_format_params(sql) if self.postgres else sql

    def indexed_by(self, index: str) -> str:
        """SQLite's ``INDEXED BY`` hint (its planner misjudges some partial indexes);
        PostgreSQL has no hints and plans these queries well by itself."""
        return "" if self.postgres else f"INDEXED BY {index}"

    def upsert_ignore(self, table: str, columns: str, values: str) -> str:
        """``INSERT … ON CONFLICT DO NOTHING`` (both databases read this form)."""
        return f"INSERT INTO {table} ({columns}) VALUES ({values}) ON CONFLICT DO NOTHING"


SQLITE = Dialect("sqlite")
POSTGRESQL = Dialect("postgresql")


#: SQLite's functions that the storage queries use, for PostgreSQL. ``json_extract`` returns
#: text (SQLite returns the JSON value's SQL type; the queries compare it as text or cast it).
POSTGRES_COMPAT = r"""
CREATE OR REPLACE FUNCTION batcher_jsonb(doc text) RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
BEGIN
  RETURN doc::jsonb;
EXCEPTION WHEN others THEN
  RETURN NULL;
END
$$;
CREATE OR REPLACE FUNCTION json_extract(doc text, path text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE jsonb_typeof(v) WHEN 'string' THEN v #>> '{}' WHEN 'null' THEN NULL
         ELSE v::text END
  FROM jsonb_path_query_first(batcher_jsonb(doc), path::jsonpath) AS v
$$;
CREATE OR REPLACE FUNCTION json_valid(doc text) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT batcher_jsonb(doc) IS NOT NULL $$;
CREATE OR REPLACE FUNCTION json_extract(doc bytea, path text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT json_extract(convert_from(doc, 'UTF8'), path) $$;
CREATE OR REPLACE FUNCTION json_valid(doc bytea) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT json_valid(convert_from(doc, 'UTF8')) $$;
CREATE OR REPLACE FUNCTION instr(haystack text, needle text) RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT strpos(haystack, needle) $$;
CREATE OR REPLACE FUNCTION ifnull(a anyelement, b anyelement) RETURNS anyelement
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT coalesce(a, b) $$;
CREATE OR REPLACE FUNCTION min(a bigint, b bigint) RETURNS bigint
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT least(a, b) $$;
CREATE OR REPLACE FUNCTION max(a bigint, b bigint) RETURNS bigint
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT greatest(a, b) $$;
CREATE OR REPLACE FUNCTION min(a integer, b integer) RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT least(a, b) $$;
CREATE OR REPLACE FUNCTION max(a integer, b integer) RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT greatest(a, b) $$;
"""

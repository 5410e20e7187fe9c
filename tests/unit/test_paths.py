"""Workspace location: --data-dir, BATCHER_HOME, BATCHER_DATABASE_URL, DATABASE_URL, then the
platform default."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from batcher_gui.domain.errors import WorkspaceError
from batcher_gui.paths import default_root, resolve_workspace


def test_data_dir_wins(tmp_path: Path) -> None:
    env = {"BATCHER_HOME": str(tmp_path / "home"), "DATABASE_URL": "sqlite:////x/y.db"}
    paths = resolve_workspace(tmp_path / "dd", env)
    assert paths.root == tmp_path / "dd"
    assert paths.database == tmp_path / "dd" / "batcher.sqlite3"
    assert paths.batches_dir == tmp_path / "dd" / "batches"
    assert paths.results_dir == tmp_path / "dd" / "results"


def test_batcher_home_then_database_url(tmp_path: Path) -> None:
    assert resolve_workspace(None, {"BATCHER_HOME": str(tmp_path)}).root == tmp_path
    paths = resolve_workspace(None, {"DATABASE_URL": f"sqlite:///{tmp_path}/db.sqlite3"})
    assert paths.database == tmp_path / "db.sqlite3"
    assert paths.root == tmp_path
    four = resolve_workspace(None, {"DATABASE_URL": f"sqlite:////{tmp_path}/w/db.sqlite3"})
    assert four.database == tmp_path / "w" / "db.sqlite3"


def test_batcher_database_url_comes_before_database_url(tmp_path: Path) -> None:
    env = {"DATABASE_URL": f"sqlite:///{tmp_path}/other/app.db",
           "BATCHER_DATABASE_URL": f"sqlite:///{tmp_path}/mine.sqlite3"}
    paths = resolve_workspace(None, env)
    assert paths.database == tmp_path / "mine.sqlite3"
    assert paths.chosen_by == "BATCHER_DATABASE_URL"
    assert resolve_workspace(None, {"BATCHER_HOME": str(tmp_path), **env}).root == tmp_path


def test_default_is_the_platform_data_dir() -> None:
    paths = resolve_workspace(None, {})
    assert paths.root == default_root()
    assert "batcher-gui" in str(paths.root)


@pytest.mark.parametrize(
    "url", ["mysql://localhost/db", "sqlite://", "sqlite:///:memory:", "sqlite://host/x.db",
            "postgresql://"]
)
def test_bad_database_urls_are_explained(url: str) -> None:
    with pytest.raises(WorkspaceError, match="DATABASE_URL"):
        resolve_workspace(None, {"DATABASE_URL": url})


def test_a_postgresql_url_is_a_team_workspace_with_a_local_folder(tmp_path: Path) -> None:
    url = "postgresql://ann:s3cret@db.example:5433/team"
    paths = resolve_workspace(None, {"BATCHER_DATABASE_URL": url})
    assert paths.database_url == url and paths.chosen_by == "BATCHER_DATABASE_URL"
    assert paths.root == default_root() / "team" / "db.example-5433-team"
    assert "s3cret" not in paths.shown_database
    # --database with --data-dir: the folder is this machine's place for the files.
    given = resolve_workspace(tmp_path / "local", {}, database=url)
    assert given.root == tmp_path / "local" and given.database_url == url


def test_create_makes_the_folders_and_refuses_a_file(tmp_path: Path) -> None:
    paths = resolve_workspace(tmp_path / "new", {}).create()
    assert paths.batches_dir.is_dir() and paths.results_dir.is_dir()
    (tmp_path / "afile").write_text("x")
    with pytest.raises(WorkspaceError, match="is a file"):
        resolve_workspace(tmp_path / "afile", {})


def mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def test_new_folders_are_owner_only_whatever_the_umask(tmp_path: Path) -> None:
    old = os.umask(0o002)
    try:
        paths = resolve_workspace(tmp_path / "new", {}).create()
    finally:
        os.umask(old)
    for folder in (paths.root, paths.batches_dir, paths.results_dir, paths.log_dir,
                   paths.sandbox_dir):
        assert mode(folder) == 0o700, folder


def test_tighten_counts_only_what_others_could_reach_and_follows_no_link(
        tmp_path: Path) -> None:
    paths = resolve_workspace(tmp_path / "ws", {}).create()
    paths.root.chmod(0o755)  # as Batcher made them before
    (paths.root / "batcher.sqlite3").write_bytes(b"")
    (paths.root / "batcher.sqlite3").chmod(0o644)
    hidden = paths.sandbox_dir / "state.json"  # loose, but inside an owner-only folder
    hidden.write_text("{}")
    hidden.chmod(0o644)
    elsewhere = tmp_path / "elsewhere.txt"
    elsewhere.write_text("not Batcher's")
    elsewhere.chmod(0o644)
    (paths.results_dir / "link").symlink_to(elsewhere)
    users_file = paths.root / "notes.txt"  # the user's own file beside the workspace's
    users_file.write_text("mine")
    users_file.chmod(0o644)

    assert paths.tighten() == 2  # the folder and the database; not the sandbox's file
    assert mode(paths.root) == 0o700
    assert mode(paths.root / "batcher.sqlite3") == 0o600 and mode(hidden) == 0o600
    assert mode(elsewhere) == 0o644 and mode(users_file) == 0o644
    assert paths.tighten() == 0


def test_a_folder_named_by_a_database_url_is_not_tightened(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o755)
    paths = resolve_workspace(None, {"DATABASE_URL": f"sqlite:///{shared}/b.sqlite3"})
    paths.create()
    (shared / "b.sqlite3").write_bytes(b"")
    (shared / "b.sqlite3").chmod(0o644)
    assert paths.tighten() == 1
    assert mode(shared) == 0o755 and mode(shared / "b.sqlite3") == 0o600
    assert mode(paths.batches_dir) == 0o700

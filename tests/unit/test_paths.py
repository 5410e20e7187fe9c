"""Workspace location: --data-dir, BATCHER_HOME, BATCHER_DATABASE_URL, DATABASE_URL, then the
platform default."""

from __future__ import annotations

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
    "url", ["postgres://localhost/db", "sqlite://", "sqlite:///:memory:", "sqlite://host/x.db"]
)
def test_bad_database_urls_are_explained(url: str) -> None:
    with pytest.raises(WorkspaceError, match="DATABASE_URL"):
        resolve_workspace(None, {"DATABASE_URL": url})


def test_create_makes_the_folders_and_refuses_a_file(tmp_path: Path) -> None:
    paths = resolve_workspace(tmp_path / "new", {}).create()
    assert paths.batches_dir.is_dir() and paths.results_dir.is_dir()
    (tmp_path / "afile").write_text("x")
    with pytest.raises(WorkspaceError, match="is a file"):
        resolve_workspace(tmp_path / "afile", {})

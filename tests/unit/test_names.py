"""Run names and terminal-safe text: the rules in domain/, without I/O."""

from __future__ import annotations

import pytest

from batcher_gui.domain.errors import InvalidInput
from batcher_gui.domain.names import MAX_RUN_NAME, check_run_name, run_name_from_file
from batcher_gui.domain.wording import visible


@pytest.mark.parametrize(("text", "shown"), [
    ("plain name", "plain name"),
    ("a\x1b[31mb", "a\\x1b[31mb"),
    ("x\u202ey\u2066z\u200e\u200f\u061c", "x\\u202ey\\u2066z\\u200e\\u200f\\u061c"),
    ("del\x7f c1\x9b cr\r", "del\\x7f c1\\x9b cr\\x0d"),
    ("two\nlines\tand tab", "two\nlines\tand tab"),  # layout is kept
    ("emoji 👩\u200d💻, persian نیم\u200cفاصله", "emoji 👩\u200d💻, persian نیم\u200cفاصله"),
    ("tag \U000e0041 sep \u2028", "tag \\U000e0041 sep \\u2028"),
    ("nbsp\u00a0ok", "nbsp\u00a0ok"),
])
def test_visible_escapes_what_acts_instead_of_showing(text: str, shown: str) -> None:
    assert visible(text) == shown


def test_run_names_are_trimmed_and_capped() -> None:
    assert check_run_name("  reviews  ") == "reviews"
    assert check_run_name("y" * MAX_RUN_NAME) == "y" * MAX_RUN_NAME
    with pytest.raises(InvalidInput, match="at most 200 characters; this one has 5,000"):
        check_run_name("x" * 5000)
    with pytest.raises(InvalidInput, match="cannot be empty"):
        check_run_name(" \t ")


@pytest.mark.parametrize(("name", "shown"), [
    ("a\x1bb", r"\x1b at character 2"), ("rtl\u202e", r"\u202e at character 4"),
    ("two\nlines", r"\n at character 4"), ("tab\there", r"\t at character 4"),
])
def test_run_names_refuse_control_characters(name: str, shown: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        check_run_name(name)
    assert shown in str(refused.value)


def test_a_file_name_gives_a_clean_short_run_name() -> None:
    assert run_name_from_file("news\x1b[31m\u202eq") == "news[31mq"
    assert run_name_from_file("n" * 240) == "n" * MAX_RUN_NAME
    assert run_name_from_file("\x1b\u202e") == "import"
    assert run_name_from_file(" spaced ") == "spaced"

"""Prompt templates: ``{column}`` placeholders, ``{{`` and ``}}`` for literal braces.

Deliberately not ``str.format``: column names are arbitrary text (spaces, dots, brackets)
and format's attribute/index syntax and conversions would misread them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


class TemplateError(ValueError):
    """A template that cannot be compiled; the message says what and where."""


@dataclass(frozen=True, slots=True)
class Template:
    """A compiled template.

    Attributes:
        literals: text around the placeholders (one more than ``columns``).
        columns: for each placeholder, the index of the column it names.
        names: the placeholder names, in order (for messages).
    """

    literals: tuple[str, ...]
    columns: tuple[int, ...]
    names: tuple[str, ...]

    def render(self, row: Sequence[str]) -> str:
        """The template filled in with one row's cells."""
        literals = self.literals
        parts = [literals[0]]
        for i, column in enumerate(self.columns):
            parts.append(row[column])
            parts.append(literals[i + 1])
        return "".join(parts)


def parse(template: str) -> tuple[list[str], list[str]]:
    """Split a template into literal texts and placeholder names.

    Returns:
        (literals, names) with ``len(literals) == len(names) + 1``.

    Raises:
        TemplateError: an unmatched brace or an empty placeholder.
    """
    literals: list[str] = []
    names: list[str] = []
    buf: list[str] = []
    i, n = 0, len(template)
    while i < n:
        ch = template[i]
        if ch == "{":
            if template.startswith("{{", i):
                buf.append("{")
                i += 2
                continue
            end = template.find("}", i + 1)
            inner = template[i + 1 : end] if end >= 0 else ""
            if end < 0 or "{" in inner:
                raise TemplateError(
                    f"unmatched '{{' at position {i + 1}; write '{{{{' for a literal brace"
                )
            name = inner.strip()
            if not name:
                raise TemplateError(f"empty placeholder '{{}}' at position {i + 1}")
            literals.append("".join(buf))
            buf = []
            names.append(name)
            i = end + 1
        elif ch == "}":
            if template.startswith("}}", i):
                buf.append("}")
                i += 2
                continue
            raise TemplateError(
                f"unmatched '}}' at position {i + 1}; write '}}}}' for a literal brace"
            )
        else:
            buf.append(ch)
            i += 1
    literals.append("".join(buf))
    return literals, names


def compile_template(template: str, header: Sequence[str]) -> Template:
    """Compile ``template`` against a file's column names.

    Raises:
        TemplateError: bad syntax, or a placeholder that names no column.
    """
    literals, names = parse(template)
    index = {name: i for i, name in enumerate(header)}
    columns: list[int] = []
    for name in names:
        if name not in index:
            raise TemplateError(
                f"placeholder {{{name}}} names no column; available columns: " + ", ".join(header)
            )
        columns.append(index[name])
    return Template(tuple(literals), tuple(columns), tuple(names))

"""What the service tells about a file before it is imported: a peek, a dry run, an estimate.

Plain data (the import dialog shows it; :mod:`batcher_gui.importing.preview` and
:mod:`batcher_gui.engine.estimate` make it), so the window reads it through the service
without importing the readers or the engine.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from batcher_gui.domain.errors import LineError
from batcher_gui.domain.models import InputFormat
from batcher_gui.domain.pricing import CostRange


@dataclass(frozen=True, slots=True)
class FilePreview:
    """The start of an input file, as the import dialog shows it.

    Attributes:
        format: the format detected (or chosen in the options).
        columns: the header of a CSV/TSV/XLSX file; [] for JSONL and text.
        rows: the first data rows as cells (tabular: one per column, padded to the header;
            JSONL: ``[custom_id, url, model, user text]`` as the prompts table shows it;
            text: ``[line]``); blank
            lines and rows are skipped, cells are cut to ``PREVIEW_CELL_CHARS``.
        sheets: the worksheet names of a workbook, in tab order; [] for other formats.
        models: distinct ``body.model`` values in the first lines of a JSONL file.
        endpoints: distinct ``url`` values in the first lines of a JSONL file.
        needs_model: the import needs a model option: always for CSV/TSV/XLSX/text; for JSONL
            when one of the first lines has no ``body.model``.
        needs_template: a table without a ``prompt`` column (a template must make the text).
        suggested_id_column: ``custom_id`` if the table has one (the import's default), else a
            column named like an id whose first cells are distinct and non-empty, else None.
        total_bytes: the file's size.
    """

    format: InputFormat
    columns: list[str]
    rows: list[list[str]]
    sheets: list[str]
    models: list[str]
    endpoints: list[str]
    needs_model: bool
    needs_template: bool
    suggested_id_column: str | None
    total_bytes: int


@dataclass(frozen=True, slots=True)
class ValidationReport:
    """What importing a file would do, found by reading all of it and writing nothing.

    Attributes:
        valid: requests that would be imported.
        invalid: lines (rows) that would be reported.
        errors: the first of those problems, in file order.
        batches: draft batches the valid requests would fill.
        models: valid requests per model.
        endpoints: valid requests per endpoint URL.
        warnings: things worth telling that do not stop an import (a forced format that does
            not fit the file...).
        notes: what the import would do to the requests ("120 request(s) converted from
            OpenAI chat format: ..." for a chat file going to a Claude profile).
    """

    valid: int
    invalid: int
    errors: list[LineError]
    batches: int
    models: dict[str, int]
    endpoints: dict[str, int]
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


#: One example request as the import would build it: ``(custom_id, body)``, or the problem
#: of a line the import would reject.
ExampleRequest = tuple[str, bytes] | LineError


@dataclass(slots=True)
class ModelTokens:
    """Requests of one model in a file, with their tokens.

    Attributes:
        exact: every count is the model's own tokenizer's (False: some are estimated).
        approximate: counted with another model's tokenizer (OpenAI's, for Claude models,
            which have none offline).
        sampled: how many of its requests the provider counted (its ``count_tokens``); the
            input is scaled from them to all ``requests`` (exact when they are all).
    """

    requests: int = 0
    input: int = 0
    output_bound: int = 0
    exact: bool = True
    approximate: bool = False
    sampled: int = 0


@dataclass(slots=True)
class FileEstimate:
    """Tokens and cost of a file's valid requests (invalid lines are counted, not priced).

    ``sample_problem``: why the provider could not count a sample (no key, refused...), when
    it was asked and failed."""

    requests: int = 0
    invalid: int = 0
    exact: bool = True  # False: some counts are estimates (unknown model, images...)
    models: dict[str, ModelTokens] = field(default_factory=dict)
    cost: CostRange | None = None
    sample_problem: str | None = None
    #: The first invalid line's problem (file, line, field, what was expected).
    first_problem: str | None = None

    @property
    def input_tokens(self) -> int:
        return sum(m.input for m in self.models.values())

    @property
    def output_bound(self) -> int:
        return sum(m.output_bound for m in self.models.values())

    @property
    def sampled(self) -> int:
        """Requests the provider counted (0: all were counted offline)."""
        return sum(m.sampled for m in self.models.values())

    @property
    def approximate(self) -> bool:
        """Some models' tokens were counted with another model's tokenizer (and not sampled)."""
        return any(m.approximate for m in self.models.values())

    @property
    def method(self) -> str:
        """How the input tokens were found: ``sampled`` (scaled from the provider's counts of
        some requests), ``approximate`` (OpenAI's tokenizer on models it is not theirs),
        ``estimated`` (partly: unknown models, images...) or ``counted``."""
        if any(m.sampled < m.requests for m in self.models.values() if m.sampled):
            return "sampled"
        if self.approximate:
            return "approximate"
        return "counted" if self.exact else "estimated"

    def how_counted(self) -> str:
        """The method in words, for the estimate's line (CLI and window)."""
        method = self.method
        if method == "sampled":
            return (f"from a sample of {self.sampled:,} request"
                    f"{'' if self.sampled == 1 else 's'} counted by the provider, scaled")
        if method == "approximate":
            return "approximate (OpenAI tokenizer)"
        by_provider = ", Claude's by the provider" if self.sampled else ""
        if method == "estimated":
            return f"counted, partly estimated{by_provider}"
        return f"counted{by_provider}"

"""Input-file readers: turn JSONL, CSV/TSV, Excel .xlsx or plain-text files into validated
requests, and preview them for the import dialog.

Pure and streaming: no database, no network, memory bounded by the longest line (plus one
set of custom_ids for duplicate detection, and a workbook's shared strings).
"""

from batcher_gui.importing.detect import EXTENSION_FORMATS, detect_format
from batcher_gui.importing.preview import (
    FilePreview,
    ValidationReport,
    peek,
    render_examples,
    validate,
)
from batcher_gui.importing.reader import RequestReader

__all__ = [
    "EXTENSION_FORMATS",
    "FilePreview",
    "RequestReader",
    "ValidationReport",
    "detect_format",
    "peek",
    "render_examples",
    "validate",
]

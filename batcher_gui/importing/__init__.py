"""Input-file readers: turn JSONL, CSV/TSV or plain-text files into validated requests.

Pure and streaming: no database, no network, memory bounded by the longest line (plus one
set of custom_ids for duplicate detection).
"""

from batcher_gui.importing.detect import EXTENSION_FORMATS, detect_format
from batcher_gui.importing.reader import RequestReader

__all__ = ["EXTENSION_FORMATS", "RequestReader", "detect_format"]

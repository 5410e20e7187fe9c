"""Make resources/tokenizers/*.tiktoken.gz from the npm package js-tiktoken (run once, by hand).

Batcher never downloads a tokenizer at run time: the two vocabularies it counts with ship in
``resources/tokenizers/``. They were made from js-tiktoken's compact rank tables (fetched from
the npm registry with ``npm pack js-tiktoken``) and are byte-for-byte the files tiktoken itself
would download: the SHA-256 below is the one tiktoken checks (``tiktoken_ext/openai_public.py``).

Usage: python tools/make_vocab.py PATH/TO/UNPACKED/js-tiktoken/package
"""

from __future__ import annotations

import gzip
import hashlib
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from batcher_gui.tokens.vocab import VOCABULARIES  # noqa: E402


def convert(package: Path, name: str) -> bytes:
    text = (package / "dist" / "ranks" / f"{name}.cjs").read_text()
    data = json.loads(text[text.index("{"):].rstrip().rstrip(";"))
    ranks: dict[str, int] = {}
    for line in data["bpe_ranks"].split("\n"):  # "<tag> <first rank> <b64 token> <b64 token>..."
        if line:
            _, first, *tokens = line.split(" ")
            for i, token in enumerate(tokens):
                ranks[token] = int(first) + i
    return "".join(f"{t} {r}\n" for t, r in sorted(ranks.items(), key=lambda kv: kv[1])).encode()


def main() -> int:
    package = Path(sys.argv[1])
    for name, vocab in VOCABULARIES.items():
        data = convert(package, name)
        digest = hashlib.sha256(data).hexdigest()
        if digest != vocab.sha256:
            print(f"{name}: SHA-256 {digest} is not tiktoken's {vocab.sha256}", file=sys.stderr)
            return 1
        out = ROOT / "resources" / "tokenizers" / f"{name}.tiktoken.gz"
        out.write_bytes(gzip.compress(data, compresslevel=9, mtime=0))
        print(f"wrote {out} ({len(data):,} bytes before gzip, SHA-256 matches tiktoken's)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""`python -m batcher_gui.sandbox`: run the sandbox server in the foreground."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())

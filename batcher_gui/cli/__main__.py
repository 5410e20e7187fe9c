import sys

from batcher_gui.cli.main import main

if __name__ == "__main__":  # guarded: import readers re-import __main__ in a spawned process
    sys.exit(main())

import sys

from batcher_gui.cli.main import main

sys.exit(main())

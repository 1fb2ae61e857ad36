"""``python -m botsweep``: the same command line as the ``botsweep`` script."""

from __future__ import annotations

import sys

from botsweep.cli import main

if __name__ == "__main__":
    sys.exit(main())

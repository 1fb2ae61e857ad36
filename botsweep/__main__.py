"""``python -m botsweep``: the same as the ``botsweep`` console script."""

import sys

from botsweep.cli import main

sys.exit(main())

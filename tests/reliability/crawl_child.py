"""``python -m tests.reliability.crawl_child ARGS``: the botsweep CLI with a light scorer.

Exactly ``botsweep ARGS``, except that the bot model is :class:`KitScorer` instead of a
LightGBM file: loading LightGBM costs seconds per process, and the crash test starts
twenty crawler processes.  The crawl, the storage and the exit codes are the real ones.
"""

from __future__ import annotations

import sys
from typing import Any


def _light_scorer(_settings: Any) -> Any:
    from tests.reliability.kit import KitScorer

    return KitScorer()


def main() -> int:
    import botsweep.models.scorer as scorer
    from botsweep.cli import main as cli_main

    scorer.load_scorer = _light_scorer  # type: ignore[assignment]
    return cli_main(sys.argv[1:])


if __name__ == "__main__":
    sys.exit(main())

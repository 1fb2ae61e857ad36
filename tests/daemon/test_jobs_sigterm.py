"""A job child stopped with SIGTERM exits quietly, even when a second SIGTERM comes while it
unwinds (the terminal's and the daemon's, say): one line in the daemon's log, no traceback."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

# The real child's main() with one extra job: it starts a worker thread that outlives the
# first SIGTERM by a second, so the interpreter's shutdown waits for it.
_CHILD = textwrap.dedent("""
    import sys, threading, time
    from botsweep import daemon_jobs

    def slow(settings, db, config=None):
        threading.Thread(target=time.sleep, args=(1.5,)).start()
        print("started", file=sys.stderr, flush=True)
        time.sleep(60)

    daemon_jobs.SUBPROCESS_JOBS["slow"] = slow
    sys.exit(daemon_jobs.main(["slow"]))
""")


def test_a_second_sigterm_while_the_child_unwinds_prints_no_traceback(tmp_path: Path) -> None:
    payload = {"settings": {"database": {"url": f"sqlite:///{tmp_path / 'jobs.db'}"}}}
    child = subprocess.Popen([sys.executable, "-c", _CHILD], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert child.stdin is not None and child.stderr is not None
    child.stdin.write(json.dumps(payload))
    child.stdin.close()
    assert child.stderr.readline().strip() == "started"
    child.send_signal(signal.SIGTERM)
    time.sleep(0.5)  # unwinding: the main thread waits for the worker thread to end
    child.send_signal(signal.SIGTERM)
    child.stdin = None  # written and closed above
    out, err = child.communicate(timeout=30)
    assert "Traceback" not in err, err
    assert child.returncode == 128 + signal.SIGTERM
    assert out == ""

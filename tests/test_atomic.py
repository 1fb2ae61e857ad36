"""Output files (reports, exports, score files, models) are replaced whole, keep the mode of
the file they replace, and a device at the target is written, not replaced."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from botsweep.atomic import _umask, replaced
from botsweep.errors import StorageError


def test_a_file_is_replaced_whole_and_keeps_its_mode(tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    out.write_text("old", encoding="utf-8")
    os.chmod(out, 0o600)  # a user who keeps their reports private
    with replaced(out, StorageError) as tmp:
        tmp.write_text("new", encoding="utf-8")
        assert out.read_text(encoding="utf-8") == "old"  # a reader still sees the old one
    assert out.read_text(encoding="utf-8") == "new"
    assert stat.S_IMODE(out.stat().st_mode) == 0o600  # was 0644 whatever it had been
    fresh = tmp_path / "new.csv"
    with replaced(fresh, StorageError) as tmp:
        tmp.write_text("x", encoding="utf-8")
    assert stat.S_IMODE(fresh.stat().st_mode) == 0o666 & ~_umask()  # as open() would make it
    assert sorted(p.name for p in tmp_path.iterdir()) == ["new.csv", "report.html"]


def test_an_error_in_the_block_leaves_the_old_file_and_no_temporary(tmp_path: Path) -> None:
    out = tmp_path / "g.gexf"
    out.write_text("old", encoding="utf-8")
    with pytest.raises(StorageError, match=f"cannot write {out}: No space left"), \
            replaced(out, StorageError) as tmp:
        tmp.write_text("half", encoding="utf-8")
        raise OSError(28, "No space left on device")
    assert out.read_text(encoding="utf-8") == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["g.gexf"]


@pytest.mark.skipif(not Path("/dev/null").is_char_device(), reason="needs /dev/null")
def test_a_device_at_the_target_is_written_not_replaced() -> None:
    """`--out /dev/null` (a dry run) must not rename a file over the device."""
    with replaced(Path("/dev/null"), StorageError) as tmp:
        assert tmp == Path("/dev/null")
        tmp.write_text("discarded", encoding="utf-8")
    assert Path("/dev/null").is_char_device()

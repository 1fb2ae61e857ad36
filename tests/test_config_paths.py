"""Relative paths in a config file are relative to that file's folder, so ``--config
../d1/config.yaml`` from anywhere reaches d1's database, report and model; the same paths
from ``BOTSWEEP_*`` variables stay relative to the directory the command runs in."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from botsweep.cli import main
from botsweep.config import load_settings

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_MODEL = ROOT / "botsweep" / "models" / "default" / "model.json"


@pytest.fixture()
def d1(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """``d1/config.yaml`` with relative paths, and the test running in ``elsewhere/``."""
    folder = tmp_path / "d1"
    folder.mkdir()
    (folder / "config.yaml").write_text(
        "database:\n  url: sqlite:///botsweep.db\n"
        "report:\n  out: reports/botsweep-report.html\n"
        "scorer:\n  model: models/mine.json\n", encoding="utf-8")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    return folder


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    rc = main(list(argv))
    out, err = capsys.readouterr()
    return rc, out, err


def _seeds(capsys: pytest.CaptureFixture[str], *argv: str) -> int:
    rc, out, err = _run(capsys, *argv, "status", "--json")
    assert rc == 0, err
    total: Any = json.loads(out)["seeds"]["total"]
    return int(total)


# --- through the CLI, as the reviewer ran it ------------------------------------------------


def test_seed_with_a_config_from_elsewhere_lands_in_its_database(
    d1: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    rc, out, err = _run(capsys, "--config", "../d1/config.yaml", "seed", "1950553111",
                        "--label", "bot")
    assert rc == 0 and "1 new seed(s)" in out, err
    assert list(Path.cwd().iterdir()) == []  # no new, empty database here
    assert (d1 / "botsweep.db").is_file()
    assert _seeds(capsys, "--config", "../d1/config.yaml") == 1
    # The same file, read from its own folder as ./config.yaml, sees the same database.
    monkeypatch.chdir(d1)
    assert _seeds(capsys) == 1


def test_a_relative_database_from_the_environment_stays_in_the_current_directory(
    d1: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    """... while the file's own report.out, in the same run, is still the file's."""
    monkeypatch.setenv("BOTSWEEP_DATABASE__URL", "sqlite:///here.db")
    (d1 / "reports").mkdir()
    rc, out, err = _run(capsys, "--config", "../d1/config.yaml", "seed", "12")
    assert rc == 0 and "1 new seed(s)" in out, err
    rc, _out, err = _run(capsys, "--config", "../d1/config.yaml", "report")
    assert rc == 0, err
    assert sorted(p.name for p in Path.cwd().iterdir() if p.suffix == ".db") == ["here.db"]
    assert not (d1 / "botsweep.db").exists()
    assert (d1 / "reports" / "botsweep-report.html").is_file()


def test_report_out_is_relative_to_the_config_file(
    d1: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    (d1 / "reports").mkdir()
    assert _run(capsys, "--config", "../d1/config.yaml", "seed", "12")[0] == 0
    rc, _out, err = _run(capsys, "--config", "../d1/config.yaml", "report")
    assert rc == 0, err
    assert (d1 / "reports" / "botsweep-report.html").is_file()
    assert list(Path.cwd().iterdir()) == []


def test_scorer_model_is_relative_to_the_config_file(
    d1: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    (d1 / "models").mkdir()
    shutil.copy(DEFAULT_MODEL, d1 / "models" / "mine.json")
    assert _run(capsys, "--config", "../d1/config.yaml", "seed", "12")[0] == 0
    rc, out, err = _run(capsys, "--config", "../d1/config.yaml", "score")
    assert rc == 0, err
    assert out.startswith("scored 0 new or changed accounts with ")


# --- which values move, and which stay as written -------------------------------------------


def test_file_paths_are_joined_to_the_file_folder_even_through_botsweep_config(d1: Path) -> None:
    settings = load_settings(environ={"BOTSWEEP_CONFIG": "../d1/config.yaml"})
    folder = d1.resolve()
    assert settings.database.url == f"sqlite:///{folder / 'botsweep.db'}"
    assert settings.report.out == folder / "reports" / "botsweep-report.html"
    assert settings.scorer.model == folder / "models" / "mine.json"


def test_environment_paths_stay_relative_to_the_current_directory(d1: Path) -> None:
    """Key by key: what the environment overrides stays as written, the rest moves."""
    settings = load_settings("../d1/config.yaml", environ={
        "BOTSWEEP_DATABASE__URL": "sqlite:///here.db",
        "BOTSWEEP_REPORT__OUT": "here.html",
    })
    assert settings.database.url == "sqlite:///here.db"
    assert settings.report.out == Path("here.html")
    assert settings.scorer.model == d1.resolve() / "models" / "mine.json"


@pytest.mark.parametrize("url", [
    "sqlite:///:memory:",
    "sqlite://",
    "sqlite:////var/lib/botsweep/crawl.db",
    "sqlite:///file:crawl.db?mode=ro&uri=true",
    "postgresql+psycopg://botsweep:pw@db:5432/botsweep",
])
def test_urls_that_name_no_relative_file_are_kept_as_written(tmp_path: Path, url: str) -> None:
    config = tmp_path / "conf" / "config.yaml"
    config.parent.mkdir()
    config.write_text(f"database:\n  url: '{url}'\nreport:\n  out: /srv/r.html\n",
                      encoding="utf-8")
    settings = load_settings(config, environ={})
    assert settings.database.url == url
    assert settings.report.out == Path("/srv/r.html")


def test_a_leading_tilde_is_the_home_folder(tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """'~' was kept as written: SQLite then looked for a folder named '~' and the error
    said to check that the folder exists."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    config = tmp_path / "conf" / "config.yaml"
    config.parent.mkdir()
    config.write_text("database:\n  url: sqlite:///~/crawl.db\nreport:\n  out: ~/r.html\n",
                      encoding="utf-8")
    settings = load_settings(config, environ={})
    assert settings.database.url == f"sqlite:///{tmp_path / 'home' / 'crawl.db'}"
    assert settings.report.out == tmp_path / "home" / "r.html"
    # from the environment too; '~name' and a file named '~x' are left as written
    settings = load_settings(None, environ={"BOTSWEEP_DATABASE__URL": "sqlite:///~/e.db",
                                            "BOTSWEEP_SCORER__MODEL": "~/m.json",
                                            "BOTSWEEP_REPORT__OUT": "~nosuchuser/r.html"})
    assert settings.database.url == f"sqlite:///{tmp_path / 'home' / 'e.db'}"
    assert settings.scorer.model == tmp_path / "home" / "m.json"
    assert settings.report.out == Path("~nosuchuser/r.html")
    assert load_settings(None, environ={"BOTSWEEP_DATABASE__URL": "sqlite:///~x.db"}
                         ).database.url == "sqlite:///~x.db"
    # in the file, '~x' is a name like any other: beside the config
    config.write_text("report:\n  out: ~x.html\n", encoding="utf-8")
    assert load_settings(config, environ={}).report.out == config.parent.resolve() / "~x.html"


def test_a_relative_sqlite_url_keeps_its_driver_and_options(tmp_path: Path) -> None:
    config = tmp_path / "conf" / "config.yaml"
    config.parent.mkdir()
    config.write_text("database:\n  url: sqlite+pysqlite:///data/x.db?timeout=3\n",
                      encoding="utf-8")
    url = load_settings(config, environ={}).database.url
    folder = config.parent.resolve()
    assert url == f"sqlite+pysqlite:///{folder / 'data' / 'x.db'}?timeout=3"


def test_a_config_that_leaves_the_database_and_report_out_keeps_them_beside_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A config that names no database means the one in its own folder: the default file
    name, joined to the config's folder, not to wherever the command runs."""
    folder = tmp_path / "d2"
    folder.mkdir()
    (folder / "config.yaml").write_text("crawler:\n  policy: bfs\n", encoding="utf-8")
    elsewhere = tmp_path / "elsewhere2"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    rc, _, err = _run(capsys, "--config", "../d2/config.yaml", "seed", "12")
    assert rc == 0, err
    assert (folder / "botsweep.db").is_file() and list(elsewhere.iterdir()) == []
    settings = load_settings("../d2/config.yaml", environ={})
    assert settings.report.out == folder.resolve() / "botsweep-report.html"
    # no config file at all, or a path from the environment: the current directory
    assert load_settings(None, environ={}).database.url == "sqlite:///botsweep.db"
    env = {"BOTSWEEP_DATABASE__URL": "sqlite:///here.db"}
    assert load_settings("../d2/config.yaml", environ=env).database.url == "sqlite:///here.db"

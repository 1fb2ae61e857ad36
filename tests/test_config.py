"""Configuration as a user meets it: config.yaml, --config, BOTSWEEP_CONFIG, BOTSWEEP_* overrides,
secrets named by variable only, and one clear line (exit 2) for anything wrong."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from botsweep.cli import main
from botsweep.config import Settings, load_settings
from botsweep.errors import ConfigError
from botsweep.logs import redact
from botsweep.tokens import resolve_tokens

ROOT_CONFIG = Path(__file__).resolve().parents[1] / "config.yaml"
# A realistic app-only bearer token shape (not a real one).
FAKE_TOKEN = "AAAAAAAAAAAAAAAAAAAAAMLheAAAAAAA0%2BuSeid%2BULvsea4JtiGRiSDSJSI%3DEUifiRBkKG5E2Xz"


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def _cli_error(capsys: pytest.CaptureFixture[str], argv: list[str]) -> str:
    """Run the CLI, expect exit 2 and exactly one line on stderr; return that line."""
    rc = main(argv)
    err = capsys.readouterr().err
    assert rc == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("botsweep: error: ")
    assert "Traceback" not in err
    return lines[0]


# --- config.yaml at the repo root ---------------------------------------------------------


def test_root_config_documents_every_option_with_a_comment() -> None:
    lines = ROOT_CONFIG.read_text(encoding="utf-8").splitlines()
    data = yaml.safe_load("\n".join(lines))
    for section, field in Settings.model_fields.items():
        assert section in data, f"config.yaml lacks section {section}"
        keys = field.annotation.model_fields  # type: ignore[union-attr]
        assert set(data[section]) == set(keys), f"config.yaml {section} keys differ"
        start = lines.index(f"{section}:")
        for key in keys:
            where = next(
                i for i, line in enumerate(lines) if i > start and re.match(rf"^  {key}:", line)
            )
            # The comment sits right above the key, or above a run of keys it explains.
            above = where - 1
            while re.match(r"^  \w+:", lines[above]):
                above -= 1
            assert lines[above].strip().startswith("#") or "#" in lines[where], (
                f"config.yaml: {section}.{key} has no comment explaining it"
            )


def test_root_config_values_are_the_defaults() -> None:
    """The same values, but its relative paths are relative to its own folder."""
    loaded = load_settings(ROOT_CONFIG, environ={})
    folder = ROOT_CONFIG.parent
    assert loaded.database.url == f"sqlite:///{folder / 'botsweep.db'}"
    assert loaded.report.out == folder / "botsweep-report.html"
    expected = Settings()
    expected.database.url, expected.report.out = loaded.database.url, loaded.report.out
    assert loaded == expected


# --- which file is read -------------------------------------------------------------------


def test_no_file_gives_defaults() -> None:
    assert load_settings(environ={}) == Settings()


def test_config_yaml_in_the_working_directory_is_read() -> None:
    _write(Path("config.yaml"), "crawler:\n  policy: bfs\n")
    assert load_settings(environ={}).crawler.policy == "bfs"


def test_botsweep_config_selects_a_file_and_is_not_a_key(tmp_path: Path) -> None:
    _write(Path("config.yaml"), "crawler:\n  policy: bfs\n")
    other = _write(tmp_path / "other.yaml", "crawler:\n  page_size: 7\n")
    settings = load_settings(environ={"BOTSWEEP_CONFIG": str(other)})
    assert settings.crawler.page_size == 7
    assert settings.crawler.policy == "smart"  # ./config.yaml was not read


def test_cli_config_option_beats_botsweep_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    by_option = _write(tmp_path / "a.yaml", "database:\n  url: sqlite:///by_option.db\n")
    by_env = _write(tmp_path / "b.yaml", "database:\n  url: sqlite:///by_env.db\n")
    monkeypatch.setenv("BOTSWEEP_CONFIG", str(by_env))
    assert main(["--config", str(by_option), "seed", "12"]) == 0
    assert Path("by_option.db").exists() and not Path("by_env.db").exists()
    assert main(["seed", "13"]) == 0
    assert Path("by_env.db").exists()
    capsys.readouterr()


def test_missing_config_file_is_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    line = _cli_error(capsys, ["--config", "nope.yaml", "status"])
    assert "nope.yaml" in line and "not found" in line
    monkeypatch.setenv("BOTSWEEP_CONFIG", "gone.yaml")
    assert "gone.yaml" in _cli_error(capsys, ["status"])
    assert not Path("botsweep.db").exists()


# --- environment overrides ----------------------------------------------------------------


def test_env_overrides_one_key_and_keeps_the_rest_of_the_section(tmp_path: Path) -> None:
    path = _write(tmp_path / "c.yaml", "database:\n  url: sqlite:///file.db\n  echo: true\n")
    settings = load_settings(path, environ={"BOTSWEEP_DATABASE__URL": "sqlite:///env.db"})
    assert settings.database.url == "sqlite:///env.db"
    assert settings.database.echo is True


def test_every_key_can_be_overridden_from_the_environment() -> None:
    env = {
        "BOTSWEEP_DATABASE__BUSY_TIMEOUT_S": "2.5",
        "BOTSWEEP_DATABASE__ECHO": "true",
        "BOTSWEEP_API__BASE_URL": "http://127.0.0.1:8080/",
        "BOTSWEEP_API__MAX_RETRIES": "0",
        "BOTSWEEP_CRAWLER__POLICY": "bfs",
        "BOTSWEEP_CRAWLER__BOT_THRESHOLD": "0.7",
        "BOTSWEEP_SCORER__MODEL": "m.json",
        "BOTSWEEP_REPORT__MAX_NODES": "10",
        "botsweep_schedule__report_cron": "*/5 * * * *",  # names are not case-sensitive
    }
    settings = load_settings(environ=env)
    assert settings.database.busy_timeout_s == 2.5 and settings.database.echo is True
    assert settings.api.base_url == "http://127.0.0.1:8080" and settings.api.max_retries == 0
    assert settings.crawler.policy == "bfs" and settings.crawler.bot_threshold == 0.7
    assert settings.scorer.model == Path("m.json")
    assert settings.report.max_nodes == 10
    assert settings.schedule.report_cron == "*/5 * * * *"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("MY_TOKEN", ["MY_TOKEN"]), ("A, B", ["A", "B"]), ('["A","B"]', ["A", "B"])],
)
def test_a_list_from_the_environment_is_plain_or_json(raw: str, expected: list[str]) -> None:
    settings = load_settings(environ={"BOTSWEEP_API__BEARER_TOKEN_ENV": raw})
    assert settings.api.bearer_token_env == expected


def test_null_from_the_environment_clears_an_optional_key(tmp_path: Path) -> None:
    path = _write(tmp_path / "c.yaml", "crawler:\n  campaign: pron\n  bot_threshold: 0.4\n")
    env = {"BOTSWEEP_CRAWLER__CAMPAIGN": "null", "BOTSWEEP_CRAWLER__BOT_THRESHOLD": ""}
    settings = load_settings(path, environ=env)
    assert settings.crawler.campaign is None and settings.crawler.bot_threshold is None


def test_other_botsweep_variables_that_name_no_setting_are_left_alone() -> None:
    env = {"BOTSWEEP_CONFIG": "", "BOTSWEEP_DEMO_TOKEN": "x" * 20}
    assert load_settings(environ=env) == Settings()


@pytest.mark.parametrize(
    ("var", "value", "fragments"),
    [
        ("BOTSWEEP_DATABSE__URL", "sqlite:///x.db", ["BOTSWEEP_DATABSE__URL", "'databse'",
                                                     "did you mean 'database'"]),
        ("BOTSWEEP_CRAWLER__PAGESIZE", "5", ["BOTSWEEP_CRAWLER__PAGESIZE", "crawler.pagesize",
                                             "did you mean 'page_size'"]),
        ("BOTSWEEP_DATABASE", '{"url": "x"}', ["BOTSWEEP_DATABASE__URL"]),
        ("BOTSWEEP_DATABASE__BUSY_TIMEOUT_S", "soon", ["BOTSWEEP_DATABASE__BUSY_TIMEOUT_S",
                                                       "database.busy_timeout_s", "'soon'",
                                                       "valid number"]),
        ("BOTSWEEP_CRAWLER__PAGE_SIZE", "5000", ["BOTSWEEP_CRAWLER__PAGE_SIZE", "'5000'",
                                                 "less than or equal to 1000"]),
        ("BOTSWEEP_API__BEARER_TOKEN_ENV", "[oops", ["BOTSWEEP_API__BEARER_TOKEN_ENV",
                                                     "JSON list"]),
    ],
)
def test_bad_environment_variable_is_one_line_naming_it(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    var: str,
    value: str,
    fragments: list[str],
) -> None:
    monkeypatch.setenv(var, value)
    line = _cli_error(capsys, ["status"])
    for fragment in fragments:
        assert fragment in line
    assert not Path("botsweep.db").exists()


# --- secrets ------------------------------------------------------------------------------


def test_literal_token_in_the_file_is_refused_without_echoing_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _write(tmp_path / "c.yaml", f"api:\n  bearer_token_env: [{FAKE_TOKEN}]\n")
    line = _cli_error(capsys, ["--config", str(path), "status"])
    assert "api.bearer_token_env" in line and "literal token" in line
    assert "environment variable" in line
    assert FAKE_TOKEN not in line


@pytest.mark.parametrize("key", ["bearer_token", "access_token", "api_key"])
def test_a_secret_key_in_the_file_is_refused_with_the_way_out(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], key: str
) -> None:
    path = _write(tmp_path / "c.yaml", f"api:\n  {key}: {FAKE_TOKEN}\n")
    line = _cli_error(capsys, ["--config", str(path), "status"])
    assert f"api.{key}" in line and "bearer_token_env" in line and FAKE_TOKEN not in line


def test_a_secret_in_the_environment_is_refused_without_echoing_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("BOTSWEEP_API__BEARER_TOKEN", FAKE_TOKEN)
    line = _cli_error(capsys, ["status"])
    assert "BOTSWEEP_API__BEARER_TOKEN" in line and "bearer_token_env" in line
    assert FAKE_TOKEN not in line


def test_resolve_tokens_reads_the_named_variables_and_redacts_them() -> None:
    api = load_settings(environ={"BOTSWEEP_API__BEARER_TOKEN_ENV": "TOK_A,TOK_B"}).api
    tokens = resolve_tokens(api, {"TOK_A": "", "TOK_B": "secret-token-b"})
    assert tokens == {"TOK_B": "secret-token-b"}
    assert redact("Authorization: Bearer secret-token-b") == "Authorization: Bearer [REDACTED]"
    with pytest.raises(ConfigError, match="TOK_A, TOK_B"):
        resolve_tokens(api, {})


def test_a_token_pool_with_a_variable_unset_says_so(caplog: pytest.LogCaptureFixture) -> None:
    api = load_settings(environ={"BOTSWEEP_API__BEARER_TOKEN_ENV": "TOK_A,TOK_B"}).api
    with caplog.at_level("WARNING", logger="botsweep.config"):
        assert resolve_tokens(api, {"TOK_A": "secret-token-a"}) == {"TOK_A": "secret-token-a"}
    said = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert said == ["api.bearer_token_env names TOK_B, not set (or empty) in the environment: "
                    "crawling with 1 of 2 tokens"]
    assert "secret-token-a" not in caplog.text


# --- bad files ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "fragments"),
    [
        ("databse:\n  url: x\n", ["unknown key 'databse'", "did you mean 'database'"]),
        ("crawler:\n  page_sise: 5\n", ["'crawler.page_sise'", "did you mean 'page_size'"]),
        ("crawler:\n  page_size: lots\n", ["crawler.page_size = 'lots'", "valid integer"]),
        ("crawler:\n  page_size: 0\n", ["crawler.page_size = 0", "greater than or equal to 1"]),
        ("crawler:\n  policy: dfs\n", ["crawler.policy = 'dfs'", "'smart' or 'bfs'"]),
        ("crawler: 5\n", ["crawler = 5", "valid dictionary"]),
        ("database:\n  busy_timeout_s: -1\n", ["database.busy_timeout_s = -1", "greater than 0"]),
        ("api:\n  base_url: ftp://x\n", ["api.base_url = 'ftp://x'", "http(s) URL"]),
        ("api:\n  base_url: http://api.x.com\n", ["api.base_url", "bearer token unencrypted"]),
        ("report:\n  min_score: 2\n", ["report.min_score = 2", "less than or equal to 1"]),
        ("schedule:\n  crawl_every_s: .inf\n", ["schedule.crawl_every_s = inf", "finite"]),
        ("crawler:\n  lease_s: .nan\n", ["crawler.lease_s = nan", "finite"]),
        ("schedule:\n  score_every_s: 1e9\n", ["schedule.score_every_s", "31622400"]),
        ("database:\n  url: [x\n", ["line 3", "not valid YAML"]),
        ("crawler:\n\tpolicy: bfs\n", ["not valid YAML"]),
        ("- database\n- api\n", ["expected a mapping of sections", "list"]),
        ("just words\n", ["expected a mapping of sections", "str"]),
        ("1: x\n", ["unknown key 1"]),
    ],
)
def test_bad_config_file_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, fragments: list[str]
) -> None:
    path = _write(tmp_path / "bad.yaml", text)
    line = _cli_error(capsys, ["--config", str(path), "status"])
    assert str(path) in line
    for fragment in fragments:
        assert fragment in line
    assert not Path("botsweep.db").exists()


def test_config_that_is_not_utf8_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "bad.yaml"
    path.write_bytes(b"database:\n  url: \xff\xfe\n")
    assert "cannot read config file" in _cli_error(capsys, ["--config", str(path), "status"])


@pytest.mark.parametrize(
    ("url", "fragment"),
    [("mysql://u@h/db", "unsupported database 'mysql'"), ("not a url", "not a database URL"),
     ("mysql://u:s3cret@h/db", "'mysql://u:***@h/db': unsupported"),
     ("postgres//u:s3cret@h/db", "'postgres//u:***@h/db': not a database URL")],
)
def test_bad_database_url_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], url: str, fragment: str
) -> None:
    path = _write(tmp_path / "c.yaml", f"database:\n  url: {url}\n")
    line = _cli_error(capsys, ["--config", str(path), "status"])
    assert fragment in line and "database.url" in line
    assert "s3cret" not in line  # a password is never shown


def test_empty_file_and_empty_sections_give_defaults(tmp_path: Path) -> None:
    empty = load_settings(_write(tmp_path / "empty.yaml", ""), environ={})
    # the default database and report files sit beside the file; the rest is the defaults
    assert empty.database.url == f"sqlite:///{tmp_path.resolve() / 'botsweep.db'}"
    assert empty.report.out == tmp_path.resolve() / "botsweep-report.html"
    beside = {"database": {"url"}, "report": {"out"}}
    assert empty.model_dump(exclude=beside) == Settings().model_dump(exclude=beside)
    commented = "# nothing yet\ncrawler:\n  # policy: bfs\nreport:\n  max_nodes: 5\n"
    settings = load_settings(_write(tmp_path / "c.yaml", commented), environ={})
    assert settings.crawler == Settings().crawler and settings.report.max_nodes == 5


def test_load_settings_reads_os_environ_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BOTSWEEP_CRAWLER__LEASE_S", "12")
    assert load_settings().crawler.lease_s == 12.0

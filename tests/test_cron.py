"""schedule.report_cron is read as cron reads it, weekdays included."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from botsweep.cron import report_trigger, weekdays
from botsweep.errors import ConfigError


@pytest.mark.parametrize(("field", "names"), [
    ("*", "*"), ("0", "sun"), ("7", "sun"), ("1", "mon"), ("1-5", "mon,tue,wed,thu,fri"),
    ("5-7", "sun,fri,sat"), ("0,6", "sun,sat"), ("*/2", "sun,tue,thu,sat"),
    ("MON-wed", "mon,tue,wed"), ("sat,sun", "sun,sat"), ("sat-sun", "sun,sat"),
    ("fri-0", "sun,fri,sat"), ("mon-sun", "sun,mon,tue,wed,thu,fri,sat"), ("?", "*"),
])
def test_cron_weekdays_become_day_names(field: str, names: str) -> None:
    assert weekdays(field) == names


@pytest.mark.parametrize("expr", ["0 6 * * 1", "0 6 * * mon"])
def test_a_monday_report_runs_on_mondays(expr: str) -> None:
    """APScheduler 3 reads weekday 1 as Tuesday: `0 6 * * 1` ran on Tuesdays."""
    sunday = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
    fire = report_trigger(expr).get_next_fire_time(None, sunday)
    assert fire == datetime(2026, 11, 30, 6, 0, tzinfo=UTC) and fire.weekday() == 0


def test_quartz_question_marks_mean_any_day() -> None:
    monday = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
    assert report_trigger("0 6 ? * 1").get_next_fire_time(None, monday) == datetime(
        2026, 12, 7, 6, 0, tzinfo=UTC)
    assert report_trigger("0 6 1 * ?").get_next_fire_time(None, monday) == datetime(
        2026, 12, 1, 6, 0, tzinfo=UTC)


def test_sunday_is_0_and_7() -> None:
    monday = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
    for expr in ("0 0 * * 0", "0 0 * * 7"):
        assert report_trigger(expr).get_next_fire_time(None, monday) == datetime(
            2026, 12, 6, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(("expr", "fragment"), [
    ("61 * * * *", "higher than the maximum"), ("0 0 * * 8", "weekday '8' is not 0-7"),
    ("0 0 * * 5-1", "runs backwards"), ("0 0 * * */0", "step '0'"),
    ("0 0 * * monday", "weekday 'monday'"), ("0 0 * * 1-", "has no end"),
    ("0 * * * * *", "(6 fields)"),
])
def test_a_bad_cron_line_is_one_config_error(expr: str, fragment: str) -> None:
    with pytest.raises(ConfigError, match=r"schedule.report_cron = .*: not a cron expression"
                       ) as caught:
        report_trigger(expr)
    assert fragment in str(caught.value)

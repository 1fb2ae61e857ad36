"""``schedule.report_cron``: a crontab line, read as cron reads it.

APScheduler 3 reads the day-of-week field its own way: 0 is Monday there, where cron's 0
(and 7) is Sunday, so ``0 6 * * 1`` ("Mondays at 06:00") would run on Tuesdays.  The
field is therefore handed over as day names (``mon``), which both read alike.  Like cron,
a day of the month and a day of the week given together are not combined with "or"
(APScheduler requires both); restrict one of them only.

:func:`check_shape` is the config file's check (five fields of cron's characters; no
APScheduler needed); :func:`report_trigger` reads the values, and the daemon calls it
before it opens the database.
"""

from __future__ import annotations

import re
from typing import Any

from botsweep.errors import ConfigError

__all__ = ["check_shape", "weekdays", "report_trigger"]

_FIELD = re.compile(r"[0-9A-Za-z*/,?-]+")
_DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")


def check_shape(value: str) -> str:
    """``value`` when it has the shape of a crontab line, else ValueError."""
    fields = value.split()
    if len(fields) != 5 or not all(_FIELD.fullmatch(f) for f in fields):
        raise ValueError(f"not a cron expression ({len(fields)} fields); write five, "
                         "minute hour day month weekday, e.g. '0 * * * *' for every hour")
    return value


def _day(text: str) -> int:
    """A weekday as cron numbers it (0-7, 0 and 7 Sunday), from a number or a name."""
    if text.lower() in _DAYS:
        return _DAYS.index(text.lower())
    if text.isdigit() and int(text) <= 7:
        return int(text)
    raise ValueError(f"weekday {text!r} is not 0-7 (0 and 7 are Sunday) or a day name "
                     "(sun, mon, ... sat)")


def weekdays(field: str) -> str:
    """cron's day-of-week ``field`` as APScheduler day names (``*`` and ``?`` as ``*``).
    A range may end on Sunday by name or 0 (``sat-sun``, ``fri-0``), read as 7."""
    if field in ("*", "?"):
        return "*"
    days: set[int] = set()
    for part in field.split(","):
        span, _, step = part.partition("/")
        if step and not step.isdigit() or step == "0":
            raise ValueError(f"weekday step {step!r} is not a whole number of at least 1")
        if span in ("*", "?"):
            low, high = 0, 6
        else:
            first, dash, last = span.partition("-")
            if dash and not last:
                raise ValueError(f"weekday range {span!r} has no end")
            low = _day(first)
            high = _day(last) if last else (6 if step else low)
            if high == 0 < low:
                high = 7  # sat-sun: up to Sunday
            if high < low:
                raise ValueError(f"weekday range {span!r} runs backwards")
        days.update(day % 7 for day in range(low, high + 1, int(step or 1)))
    return ",".join(_DAYS[day] for day in sorted(days))


def report_trigger(expr: str) -> Any:
    """The APScheduler CronTrigger (UTC) for ``schedule.report_cron`` = ``expr``, or a
    ConfigError naming the setting."""
    from apscheduler.triggers.cron import CronTrigger

    try:
        fields = check_shape(expr).split()
        fields[2] = "*" if fields[2] == "?" else fields[2]  # Quartz's "no day of the month"
        fields[4] = weekdays(fields[4])
        return CronTrigger.from_crontab(" ".join(fields), timezone="UTC")
    except ValueError as exc:
        raise ConfigError(f"schedule.report_cron = {expr!r}: not a cron expression ({exc}); "
                          "write five fields, e.g. '0 * * * *' for every hour") from None

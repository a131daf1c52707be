"""When a programme goes on air, and how an anchor says it: ``{date}``, ``{weekday}``, ``{time}``.

A programme's opener says "今天是十一月二十六日，星期四。現在是晚上九點整。" for the hour it
*airs*, not the minute it was built (a cron job builds the 21:00 bulletin at 20:52). So the
air time is parsed from what the producer wrote (:func:`parse_air_time`) and read out in
words (:func:`placeholders`). Pure functions, like every text stage: the caller reads the
clock and the local time zone once (``run``, with :func:`bulletin.environment.local_zone`)
and passes ``now`` and the zone in, so the same input always says the same thing and the
tests need no frozen clock.

The words are written out in characters, never digits: :func:`bulletin.text.normalize.to_spoken`
would read ``21:00`` as a time of day but without the period word, and the subtitles should
show what the anchor says. Conventions, as Taiwanese and mainland news anchors say the time
(the two scripts differ only in 點/点 and 兩/两):

* Period words by the hour: 凌晨 0–4, 早上 5–7, 上午 8–11, 中午 12, 下午 13–17, 晚上 18–23.
  A common division on both sides of the strait, not one taken from a style guide (none
  was at hand); the boundary in most doubt is five o'clock, which Taiwanese news also
  calls 凌晨五點. 傍晚 (dusk) and 半夜 (dead of night) are left out because they are
  vague about which hours they cover, and a time check must be unambiguous.
* The hour on a 12-hour dial with its period word: 21:00 晚上九點, 13:00 下午一點, 12:00
  中午十二點. Two o'clock is 兩點/两点 (never 二點), as in speech; minutes keep 二 (零二分).
* Midnight is 凌晨零點整, not 午夜十二點: 午夜十二點 leaves the listener to work out which
  day's midnight it is, while 凌晨零點 belongs to the day the opener has just named, and it
  agrees with 00:15 凌晨零點十五分 (no anchor says 午夜十二點十五分).
* 整 on the hour (晚上九點整: the time check at the top of the hour), 半 at half past
  (晚上九點半), otherwise the minutes with 分 and a 零 before a single digit (晚上九點零五分,
  晚上九點十五分; 一刻 is conversational, not a time check).
* The date without the year (十一月二十六日, as openers say it); the weekday as
  星期一 … 星期六 and 星期日 (the written form; 星期天 is conversational).
"""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta, timezone, tzinfo

from bulletin.errors import ConfigError
from bulletin.text.normalize import Script

__all__ = [
    "NEXT_HOUR",
    "parse_air_time",
    "parse_zone",
    "placeholders",
    "spoken_date",
    "spoken_time",
    "spoken_weekday",
]

#: The air-time value that means "the next top of the hour" (the usual cron use).
NEXT_HOUR = "next-hour"

#: What the error message offers: every accepted form, with an example.
_FORMS = "HH:MM (21:00), an ISO date and time (2026-11-26T21:00, optionally +08:00 or Z) or next-hour"

_CLOCK = re.compile(r"(\d{1,2}):(\d{2})")
# Written out rather than left to datetime.fromisoformat, which accepts different forms on
# Python 3.10 and 3.11 (3.11 takes 20261126T2100, a bare date, "Z"): the same programme file
# must mean the same thing on every supported Python.
_ISO = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?"
    r"(Z|[+-]\d{2}(?::?\d{2})?)?",
    re.IGNORECASE,
)

_DIGITS = "零一二三四五六七八九"
_WEEKDAYS = ("星期一", "星期二", "星期三", "星期四", "星期五", "星期六", "星期日")
#: (first hour, period word), in order: the word of the last entry not after the hour.
_PERIODS = ((0, "凌晨"), (5, "早上"), (8, "上午"), (12, "中午"), (13, "下午"), (18, "晚上"))
_POINT = {"hant": "點", "hans": "点"}
_TWO = {"hant": "兩", "hans": "两"}


def parse_zone(name: str | None, *, local: tzinfo) -> tzinfo:
    """The time zone called ``name`` (an IANA name such as ``Asia/Taipei``), or ``local`` if None.

    ``local`` is passed in because finding the machine's zone means reading the environment
    (``TZ``, ``/etc/localtime``), which only :mod:`bulletin.environment` does
    (:func:`~bulletin.environment.local_zone`). Zone data comes from the system or, where
    there is none (Windows, slim containers), from the ``tzdata`` package.
    """
    if name is None:
        return local
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        # ValueError: not a key at all ("", "/etc/passwd", "../x"); OSError: a folder, say.
        raise ConfigError(f"unknown time zone {name!r}: expected an IANA name such as Asia/Taipei") from None


def parse_air_time(value: str | None, now: datetime, zone: tzinfo) -> datetime:
    """The air time that ``value`` means, as an aware datetime in ``zone`` to the minute.

    ``value`` is None (``now``), ``HH:MM`` (that time on the day that puts it nearest to
    ``now``: a build at 23:52 for ``00:00`` airs tomorrow, one at 09:05 for ``09:00``
    airs today, late as it is), an ISO date and time
    (naive: in ``zone``; with an offset or ``Z``: converted to ``zone``) or ``next-hour``
    (the first top of the hour in ``zone`` strictly after ``now``). ``now`` must be aware:
    a naive clock reading is a caller's bug (whose wall clock?), so it is a ValueError,
    not a ConfigError. A wall time that does not exist in ``zone`` (the hour skipped when
    clocks go forward) is moved forward by the gap, as ``zoneinfo`` reads it.
    """
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("parse_air_time: now must be an aware datetime")
    if value is None:
        return _minute(now, zone)
    text = value.strip()
    if text.lower() == NEXT_HOUR:
        return _next_hour(now, zone)
    try:
        if clock := _CLOCK.fullmatch(text):
            today = now.astimezone(zone).date()
            wall = time(int(clock[1]), int(clock[2]))
            days = (today - timedelta(days=1), today, today + timedelta(days=1))
            near = min(days, key=lambda d: abs(datetime.combine(d, wall, tzinfo=zone) - now))
            return _minute(datetime.combine(near, wall, tzinfo=zone), zone)
        if iso := _ISO.fullmatch(text):
            year, month, day, hour, minute = (int(g) for g in iso.groups()[:5])
            when = datetime(year, month, day, hour, minute, tzinfo=_offset(iso[7]) or zone)
            return _minute(when, zone)
    except ValueError:  # month 13, hour 25, offset +25:00 …
        pass
    except OverflowError:  # 9999-12-31T23:59-12:00 is in the year 10000 in UTC
        raise ConfigError(f"air time {value!r} is outside the years the clock can hold") from None
    raise ConfigError(f"air time {value!r} is not {_FORMS}")


def _offset(text: str | None) -> tzinfo | None:
    """The fixed zone of an ISO offset (``Z``, ``+08``, ``+0800``, ``+08:00``), None if absent."""
    if not text:
        return None
    if text.upper() == "Z":
        return timezone.utc
    digits = text[1:].replace(":", "")
    delta = timedelta(hours=int(digits[:2]), minutes=int(digits[2:] or 0))
    return timezone(-delta if text[0] == "-" else delta)  # ValueError beyond ±24 h


def _minute(when: datetime, zone: tzinfo) -> datetime:
    """``when`` in ``zone``, seconds dropped.

    The round trip through UTC settles a wall time that does not exist in ``zone`` (and
    picks the first of two that do) the way ``zoneinfo`` reads it, so the result's wall
    clock is one that really happens.
    """
    local = when.astimezone(timezone.utc).astimezone(zone)
    return local.replace(second=0, microsecond=0)


def _next_hour(now: datetime, zone: tzinfo) -> datetime:
    """The first whole hour on ``zone``'s clocks strictly after ``now``.

    Stepped minute by minute in UTC rather than "the hour plus one" on the wall clock,
    because the two differ where it matters: zones half or three quarters of an hour off
    UTC (Asia/Kolkata, Asia/Kathmandu), and the nights clocks change, when the next hour
    on the wall is two hours away, or the same hour comes round twice.
    """
    step = now.astimezone(timezone.utc).replace(second=0, microsecond=0)
    for _ in range(3 * 60):  # the longest wait, an hour plus a two-hour change, is less
        step += timedelta(minutes=1)
        local = step.astimezone(zone)
        if local.minute == 0:
            return local
    raise AssertionError(f"no whole hour within three hours of {now.isoformat()} in {zone}")


def _number(n: int) -> str:
    """0–99 in characters, as dates and clock times say them (10 十, 26 二十六, never 兩)."""
    tens, ones = divmod(n, 10)
    if tens == 0:
        return _DIGITS[ones]
    head = "十" if tens == 1 else _DIGITS[tens] + "十"
    return head + (_DIGITS[ones] if ones else "")


def spoken_date(when: datetime, script: Script) -> str:
    """The day of the month as said on air: 十一月二十六日.

    The same in both scripts; ``script`` is taken so that every reader here is called alike.
    """
    return f"{_number(when.month)}月{_number(when.day)}日"


def spoken_weekday(when: datetime, script: Script) -> str:
    """The day of the week: 星期一 … 星期六, 星期日 (the same in both scripts)."""
    return _WEEKDAYS[when.weekday()]


def spoken_time(when: datetime, script: Script) -> str:
    """The time of day as an anchor says it: 晚上九點整, 凌晨兩點十五分, 中午十二點半 (Traditional)
    or 晚上九点整 … (Simplified); conventions in the module docstring."""
    period = next(word for first, word in reversed(_PERIODS) if when.hour >= first)
    dial = when.hour % 12 or (12 if when.hour == 12 else 0)  # 中午十二點, 凌晨零點
    hour = _TWO[script] if dial == 2 else _number(dial)
    if when.minute == 0:
        minutes = "整"
    elif when.minute == 30:
        minutes = "半"
    else:
        minutes = ("零" if when.minute < 10 else "") + _number(when.minute) + "分"
    return f"{period}{hour}{_POINT[script]}{minutes}"


def placeholders(when: datetime, script: Script) -> dict[str, str]:
    """The programme texts' ``{date}``, ``{weekday}`` and ``{time}`` for an air time ``when``.

    Read in ``when``'s own zone (:func:`parse_air_time` returns it in the programme's).
    """
    return {
        "date": spoken_date(when, script),
        "weekday": spoken_weekday(when, script),
        "time": spoken_time(when, script),
    }

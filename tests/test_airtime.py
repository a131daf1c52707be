"""The air time of a programme and how it is said (bulletin.text.airtime), and the local zone."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bulletin.environment import local_zone
from bulletin.errors import ConfigError
from bulletin.text.airtime import (
    parse_air_time,
    parse_zone,
    placeholders,
    spoken_date,
    spoken_time,
    spoken_weekday,
)
from bulletin.text.normalize import to_spoken

TAIPEI = ZoneInfo("Asia/Taipei")
#: A Thursday evening in Taipei, a few seconds into the minute.
NOW = datetime(2026, 11, 26, 20, 52, 37, 500, tzinfo=TAIPEI)


def at(hh: int, mm: int, day: int = 26) -> datetime:
    return datetime(2026, 11, day, hh, mm, tzinfo=TAIPEI)


# (hour, minute, Traditional, Simplified)
TIMES = [
    (21, 0, "晚上九點整", "晚上九点整"),
    (21, 30, "晚上九點半", "晚上九点半"),
    (21, 15, "晚上九點十五分", "晚上九点十五分"),
    (21, 5, "晚上九點零五分", "晚上九点零五分"),
    (21, 2, "晚上九點零二分", "晚上九点零二分"),
    (21, 10, "晚上九點十分", "晚上九点十分"),
    (21, 45, "晚上九點四十五分", "晚上九点四十五分"),
    (0, 15, "凌晨零點十五分", "凌晨零点十五分"),
    (0, 0, "凌晨零點整", "凌晨零点整"),
    (0, 30, "凌晨零點半", "凌晨零点半"),
    (2, 0, "凌晨兩點整", "凌晨两点整"),
    (4, 59, "凌晨四點五十九分", "凌晨四点五十九分"),
    (5, 0, "早上五點整", "早上五点整"),
    (6, 0, "早上六點整", "早上六点整"),
    (7, 30, "早上七點半", "早上七点半"),
    (8, 0, "上午八點整", "上午八点整"),
    (9, 0, "上午九點整", "上午九点整"),
    (11, 59, "上午十一點五十九分", "上午十一点五十九分"),
    (12, 0, "中午十二點整", "中午十二点整"),
    (12, 30, "中午十二點半", "中午十二点半"),
    (13, 0, "下午一點整", "下午一点整"),
    (14, 20, "下午兩點二十分", "下午两点二十分"),
    (17, 59, "下午五點五十九分", "下午五点五十九分"),
    (18, 0, "晚上六點整", "晚上六点整"),
    (22, 0, "晚上十點整", "晚上十点整"),
    (23, 30, "晚上十一點半", "晚上十一点半"),
]


@pytest.mark.parametrize(("hh", "mm", "hant", "hans"), TIMES)
def test_spoken_time_in_both_scripts(hh, mm, hant, hans):
    assert spoken_time(at(hh, mm), "hant") == hant
    assert spoken_time(at(hh, mm), "hans") == hans


def test_every_hour_has_one_period_word():
    periods = [spoken_time(at(h, 0), "hant")[:2] for h in range(24)]
    assert periods == ["凌晨"] * 5 + ["早上"] * 3 + ["上午"] * 4 + ["中午"] + ["下午"] * 5 + ["晚上"] * 6


@pytest.mark.parametrize("script", ["hant", "hans"])
def test_the_issue_example(script):
    when = parse_air_time("2026-11-26T21:00", NOW, TAIPEI)
    said = {"hant": "晚上九點整", "hans": "晚上九点整"}[script]
    assert placeholders(when, script) == {"date": "十一月二十六日", "weekday": "星期四", "time": said}


@pytest.mark.parametrize(
    ("month", "day", "said"),
    [
        (1, 1, "一月一日"),
        (2, 2, "二月二日"),
        (10, 10, "十月十日"),
        (12, 31, "十二月三十一日"),
        (3, 20, "三月二十日"),
    ],
)
def test_spoken_date(month, day, said):
    for script in ("hant", "hans"):
        assert spoken_date(datetime(2026, month, day, tzinfo=TAIPEI), script) == said


def test_weekdays_monday_to_sunday():
    days = [spoken_weekday(datetime(2026, 11, 23 + i, tzinfo=TAIPEI), "hant") for i in range(7)]
    assert days == ["星期一", "星期二", "星期三", "星期四", "星期五", "星期六", "星期日"]
    assert spoken_weekday(datetime(2026, 11, 29, tzinfo=TAIPEI), "hans") == "星期日"


@pytest.mark.parametrize("script", ["hant", "hans"])
def test_the_words_survive_the_number_reader(script):
    """to_spoken rewrites digits, not these words: the opener is read as the placeholders say."""
    for hh in range(24):
        for mm in (0, 2, 5, 15, 30, 59):
            words = placeholders(at(hh, mm), script)
            for value in words.values():
                assert to_spoken(value, script) == value
            sentence = "今天是{date}，{weekday}。現在是{time}。".format(**words)
            assert to_spoken(sentence, script) == sentence


# --------------------------------------------------------------------- parse_air_time


def test_none_is_now_to_the_minute():
    assert parse_air_time(None, NOW, TAIPEI) == at(20, 52)


def test_clock_time_is_the_nearest_one_in_the_zone():
    assert parse_air_time("21:00", NOW, TAIPEI) == at(21, 0)
    assert parse_air_time("9:05", NOW, TAIPEI) == at(9, 5)  # earlier today, nearer than tomorrow's
    assert parse_air_time(" 00:00 ", NOW, TAIPEI) == at(0, 0, day=27)  # at 20:52, tonight's midnight
    late = datetime(2026, 11, 26, 23, 52, tzinfo=TAIPEI)  # the midnight bulletin, made at 23:52
    assert parse_air_time("00:00", late, TAIPEI) == at(0, 0, day=27)
    early = datetime(2026, 11, 27, 0, 3, tzinfo=TAIPEI)  # a late build for 23:55 stays yesterday's
    assert parse_air_time("23:55", early, TAIPEI) == at(23, 55)


def test_clock_time_takes_the_day_from_the_zone_not_from_now():
    now_utc = datetime(2026, 11, 26, 17, 0, tzinfo=timezone.utc)  # 01:00 on the 27th in Taipei
    assert parse_air_time("01:30", now_utc, TAIPEI) == at(1, 30, day=27)


def test_result_is_aware_in_the_zone_without_seconds():
    when = parse_air_time("2026-11-26T21:00:45.123", NOW, TAIPEI)
    assert when == at(21, 0)
    assert when.tzinfo is TAIPEI
    assert when.second == when.microsecond == 0


def test_iso_naive_is_in_the_zone():
    assert parse_air_time("2026-11-26T21:00", NOW, TAIPEI) == at(21, 0)
    assert parse_air_time("2026-11-26 21:00", NOW, TAIPEI) == at(21, 0)


@pytest.mark.parametrize(
    "value", ["2026-11-26T13:00Z", "2026-11-26T13:00z", "2026-11-26T13:00+00:00", "2026-11-26T14:00+0100"]
)
def test_iso_with_offset_is_converted_to_the_zone(value):
    when = parse_air_time(value, NOW, TAIPEI)
    assert when == at(21, 0)
    assert when.tzinfo is TAIPEI
    assert spoken_time(when, "hant") == "晚上九點整"


def test_iso_offset_converted_across_the_date_line():
    when = parse_air_time("2026-11-26T21:00-05:00", NOW, TAIPEI)  # New York evening
    assert (when.day, when.hour) == (27, 10)
    assert placeholders(when, "hant") == {"date": "十一月二十七日", "weekday": "星期五", "time": "上午十點整"}


def test_clock_change_uses_the_zone_rules():
    paris = ZoneInfo("Europe/Paris")
    winter = datetime(2026, 1, 10, 12, 0, tzinfo=paris)
    when = parse_air_time("2026-07-01T21:00", winter, paris)
    assert when.utcoffset() == timedelta(hours=2)
    assert spoken_time(when, "hans") == "晚上九点整"
    # 02:30 does not exist on the night clocks go forward (29 March 2026): read as 03:30
    assert parse_air_time("2026-03-29T02:30", winter, paris).hour == 3


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (datetime(2026, 11, 26, 20, 52, 37, tzinfo=TAIPEI), datetime(2026, 11, 26, 21, 0, tzinfo=TAIPEI)),
        # strictly after: on the hour exactly, the next one
        (datetime(2026, 11, 26, 21, 0, tzinfo=TAIPEI), datetime(2026, 11, 26, 22, 0, tzinfo=TAIPEI)),
        (datetime(2026, 11, 26, 20, 59, 59, 999999, tzinfo=TAIPEI), at(21, 0)),
        # across midnight, a month's end and a year's end
        (datetime(2026, 11, 26, 23, 30, tzinfo=TAIPEI), datetime(2026, 11, 27, 0, 0, tzinfo=TAIPEI)),
        (datetime(2026, 11, 30, 23, 1, tzinfo=TAIPEI), datetime(2026, 12, 1, 0, 0, tzinfo=TAIPEI)),
        (datetime(2026, 2, 28, 23, 59, tzinfo=TAIPEI), datetime(2026, 3, 1, 0, 0, tzinfo=TAIPEI)),
        (datetime(2026, 12, 31, 23, 15, tzinfo=TAIPEI), datetime(2027, 1, 1, 0, 0, tzinfo=TAIPEI)),
    ],
)
def test_next_hour(now, expected):
    when = parse_air_time("next-hour", now, TAIPEI)
    assert when == expected
    assert when.tzinfo is TAIPEI


def test_next_hour_across_the_year_end_is_said_on_the_new_day():
    when = parse_air_time("next-hour", datetime(2026, 12, 31, 23, 15, tzinfo=TAIPEI), TAIPEI)
    assert placeholders(when, "hant") == {"date": "一月一日", "weekday": "星期五", "time": "凌晨零點整"}


def test_next_hour_from_a_clock_in_another_zone():
    now = datetime(2026, 11, 26, 12, 52, tzinfo=timezone.utc)  # 20:52 in Taipei
    assert parse_air_time("NEXT-HOUR", now, TAIPEI) == at(21, 0)


def test_next_hour_in_a_half_hour_zone_is_the_local_hour():
    kolkata = ZoneInfo("Asia/Kolkata")  # UTC+05:30
    now = datetime(2026, 11, 26, 15, 10, tzinfo=timezone.utc)  # 20:40 in Kolkata
    when = parse_air_time("next-hour", now, kolkata)
    assert (when.hour, when.minute) == (21, 0)
    assert when - now == timedelta(minutes=20)


def test_next_hour_on_the_night_clocks_go_back():
    new_york = ZoneInfo("America/New_York")  # 1 November 2026: 02:00 EDT becomes 01:00 EST
    now = datetime(2026, 11, 1, 5, 30, tzinfo=timezone.utc)  # 01:30 EDT, the first 01:30
    when = parse_air_time("next-hour", now, new_york)
    assert when - now == timedelta(minutes=30)  # 01:00 EST comes round again first
    assert (when.hour, when.minute) == (1, 0)


def test_naive_now_is_a_bug_of_the_caller():
    with pytest.raises(ValueError, match="aware"):
        parse_air_time(None, datetime(2026, 11, 26, 21, 0), TAIPEI)


@pytest.mark.parametrize(
    "value",
    [
        "",
        "9",
        "21h",
        "25:00",
        "24:00",
        "21:60",
        "21:5",
        "9pm",
        "tomorrow",
        "next hour",
        "2026-13-01T21:00",
        "2026-02-30T21:00",
        "2026-11-26",
        "2026-11-26T25:00",
        "20261126T2100",
        "2026-11-26T21:00+25:00",
        "2026-11-26T21:00 Asia/Taipei",
    ],
)
def test_bad_air_times_are_one_line_config_errors(value):
    with pytest.raises(ConfigError) as info:
        parse_air_time(value, NOW, TAIPEI)
    message = str(info.value)
    assert "\n" not in message
    assert repr(value) in message
    assert "HH:MM" in message and "ISO" in message and "next-hour" in message


# --------------------------------------------------------------------- zones


def test_parse_zone():
    local = timezone(timedelta(hours=8))
    assert parse_zone(None, local=local) is local
    assert parse_zone("Asia/Taipei", local=local) == TAIPEI
    assert parse_zone("UTC", local=local).utcoffset(None) == timedelta(0)


@pytest.mark.parametrize("name", ["Asia/Nowhere", "", "Taipei", "../etc/passwd", "/etc/passwd", "Asia"])
def test_unknown_zone_is_a_config_error(name):
    with pytest.raises(ConfigError, match="unknown time zone") as info:
        parse_zone(name, local=timezone.utc)
    assert "\n" not in str(info.value)


def test_local_zone_from_tz(tmp_path):
    nowhere = tmp_path / "localtime"
    assert local_zone({"TZ": "Asia/Taipei"}, nowhere) == TAIPEI
    assert local_zone({"TZ": ":Europe/Paris"}, nowhere) == ZoneInfo("Europe/Paris")
    assert local_zone({"TZ": ""}, nowhere).utcoffset(None) == timedelta(0)


def test_local_zone_from_the_system_link(tmp_path):
    database = Path("/usr/share/zoneinfo/Asia/Taipei")
    if not database.exists():
        pytest.skip("no system zone database to link to")
    link = tmp_path / "localtime"
    link.symlink_to(database)
    assert local_zone({}, link) == TAIPEI


def test_local_zone_without_any_setting_is_the_offset_now(tmp_path):
    zone = local_zone({}, tmp_path / "missing")
    assert zone.utcoffset(datetime.now()) == datetime.now().astimezone().utcoffset()

"""Due-time arithmetic: wall-clock targets, business hours across nights, weekends, zones."""

from __future__ import annotations

from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

import pytest

from helpdesk.tickets.sla import (
    BusinessHours,
    SLAInvalid,
    add_working_minutes,
    parse_business_hours,
)

SEOUL = ZoneInfo("Asia/Seoul")
WEEKDAYS_9_TO_18_SEOUL = BusinessHours("Asia/Seoul", (0, 1, 2, 3, 4), time(9), time(18))


def test_without_business_hours_the_target_is_wall_clock_time():
    start = datetime(2024, 5, 3, 22, 0, tzinfo=UTC)
    assert add_working_minutes(start, 240, None) == datetime(2024, 5, 4, 2, 0, tzinfo=UTC)


def test_within_one_working_day():
    start = datetime(2024, 5, 6, 10, 0, tzinfo=SEOUL)  # Monday
    due = add_working_minutes(start, 120, WEEKDAYS_9_TO_18_SEOUL)
    assert due == datetime(2024, 5, 6, 12, 0, tzinfo=SEOUL)


def test_the_night_does_not_count():
    start = datetime(2024, 5, 7, 16, 0, tzinfo=SEOUL)  # Tuesday, two hours before closing
    due = add_working_minutes(start, 240, WEEKDAYS_9_TO_18_SEOUL)
    assert due == datetime(2024, 5, 8, 11, 0, tzinfo=SEOUL)


def test_the_weekend_does_not_count():
    start = datetime(2024, 5, 10, 17, 0, tzinfo=SEOUL)  # Friday, one hour left
    due = add_working_minutes(start, 240, WEEKDAYS_9_TO_18_SEOUL)
    assert due == datetime(2024, 5, 13, 12, 0, tzinfo=SEOUL)  # Monday


def test_mail_arriving_on_a_saturday_waits_for_monday_morning():
    start = datetime(2024, 5, 11, 15, 0, tzinfo=SEOUL)
    due = add_working_minutes(start, 60, WEEKDAYS_9_TO_18_SEOUL)
    assert due == datetime(2024, 5, 13, 10, 0, tzinfo=SEOUL)


def test_mail_arriving_before_opening_counts_from_opening():
    start = datetime(2024, 5, 8, 6, 30, tzinfo=SEOUL)
    due = add_working_minutes(start, 30, WEEKDAYS_9_TO_18_SEOUL)
    assert due == datetime(2024, 5, 8, 9, 30, tzinfo=SEOUL)


def test_hours_are_read_in_the_mailbox_zone_whatever_zone_the_start_is_in():
    # 2024-05-06 23:00 UTC is Tuesday 08:00 in Seoul: one hour before opening.
    start = datetime(2024, 5, 6, 23, 0, tzinfo=UTC)
    due = add_working_minutes(start, 60, WEEKDAYS_9_TO_18_SEOUL)
    assert due == datetime(2024, 5, 7, 1, 0, tzinfo=UTC)  # Tuesday 10:00 in Seoul


def test_a_dst_change_inside_the_window_counts_real_time():
    berlin = BusinessHours("Europe/Berlin", tuple(range(7)), time(0), time(6))
    # On 2024-03-31 Berlin jumps from 02:00 to 03:00: that window is five real hours.
    start = datetime(2024, 3, 31, 0, 0, tzinfo=ZoneInfo("Europe/Berlin"))
    due = add_working_minutes(start, 5 * 60 + 30, berlin)
    assert due == datetime(2024, 4, 1, 0, 30, tzinfo=ZoneInfo("Europe/Berlin"))


def test_a_long_target_spans_several_working_days():
    start = datetime(2024, 5, 6, 9, 0, tzinfo=SEOUL)
    due = add_working_minutes(start, 24 * 60, WEEKDAYS_9_TO_18_SEOUL)  # 24 working hours
    assert due == datetime(2024, 5, 8, 15, 0, tzinfo=SEOUL)


@pytest.mark.parametrize(
    ("values", "field"),
    [
        (("Mars/Olympus", [0], "09:00", "18:00"), "timezone"),
        (("Asia/Seoul", [], "09:00", "18:00"), "days"),
        (("Asia/Seoul", ["7"], "09:00", "18:00"), "days"),
        (("Asia/Seoul", ["x"], "09:00", "18:00"), "days"),
        (("Asia/Seoul", [0], "9am", "18:00"), "start"),
        (("Asia/Seoul", [0], "18:00", "09:00"), "end"),
    ],
)
def test_invalid_business_hours_are_refused_with_the_field_named(values, field):
    with pytest.raises(SLAInvalid) as caught:
        parse_business_hours(*values)
    assert field in caught.value.errors


def test_valid_business_hours_round_trip_through_json():
    hours = parse_business_hours("Asia/Seoul", ["4", "0", "0"], "09:00", "18:30")
    assert hours.as_json() == {
        "timezone": "Asia/Seoul",
        "days": [0, 4],
        "start": "09:00",
        "end": "18:30",
    }

"""The platform's time is Beijing time (UTC+8), naive, as stored in DATETIME columns; database sessions use
time_zone '+08:00' so that NOW() agrees with it whatever the machine's zone."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

BEIJING = timezone(timedelta(hours=8))


def now() -> datetime:
    return datetime.now(BEIJING).replace(tzinfo=None)


def today() -> date:
    return now().date()

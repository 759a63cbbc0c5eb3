"""The registry's clock: the server's time, never the caller's.

Every action is recorded at the server's time (UTC) and takes effect on a date that is never
after the registry's today, in the registry's time zone (``Asia/Shanghai`` unless the service
says otherwise).
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from registry.errors import InputError

TIME_ZONE = "Asia/Shanghai"
# the years a day given from outside may fall in (every day after is still representable)
FIRST_YEAR, LAST_YEAR = 1900, 2100


@lru_cache(maxsize=8)
def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InputError(f"time zone {name!r} is unknown") from exc


def now() -> dt.datetime:
    """The server's time, in UTC."""
    return dt.datetime.now(dt.UTC)


def today(time_zone: str = TIME_ZONE) -> dt.date:
    """The registry's date now."""
    return now().astimezone(zone(time_zone)).date()


def naive_utc(moment: dt.datetime) -> dt.datetime:
    """A time as naive UTC (SQLite hands stored times back without their zone)."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.UTC).replace(tzinfo=None)
    return moment

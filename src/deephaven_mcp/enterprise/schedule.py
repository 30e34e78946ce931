"""When a persistent query runs: the schedule a caller gives, and what the controller will do.

A Core+ query carries its schedule as ``Key=Value`` strings (``SchedulerType=...``,
``StartTime=...``); coreplus's ``GenerateScheduling`` writes them (see the adapter). Callers
give a :class:`Schedule` instead, one of four kinds:

* ``continuous``: the controller keeps it running (started as soon as it is added and
  enabled; ``restart_daily`` also restarts it every day at ``start_time``);
* ``daily``: running between ``start_time`` and ``stop_time`` in ``time_zone`` on the
  chosen ``days`` (both times are required);
* ``temporary``: started only by ``pq_start``; deleted ``auto_delete_timeout`` seconds
  after its last client leaves (when given) and in any case ``expiration_minutes`` after
  it was made;
* ``manual``: scheduling disabled, so it runs only when started with ``pq_start``.

:func:`describe` reads the strings back into the same shape for ``pq_details``, and
:func:`starts_now` says whether the controller starts a new query on its own.
"""

from __future__ import annotations

import re
import zoneinfo
from collections.abc import Sequence
from datetime import datetime, time
from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

ScheduleKind = Literal["continuous", "daily", "temporary", "manual"]
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: Final[tuple[Weekday, ...]] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# coreplus's own default, so a schedule without a zone means what it means in the web UI.
DEFAULT_TIME_ZONE: Final = "America/New_York"
# coreplus's default for temporary queries made by clients (make_temporary_config).
DEFAULT_EXPIRATION_MINUTES: Final = 2880
MAX_EXPIRATION_MINUTES: Final = 60 * 24 * 366
_TIME: Final = re.compile(r"([01]\d|2[0-3]):([0-5]\d):([0-5]\d)")

SCHEDULER_PREFIX: Final = "com.illumon.iris.controller.IrisQueryScheduler"
_KINDS_BY_SCHEDULER: Final = {
    f"{SCHEDULER_PREFIX}Continuous": "continuous",
    f"{SCHEDULER_PREFIX}Daily": "daily",
    f"{SCHEDULER_PREFIX}Temporary": "temporary",
}
_FIELDS_OF: Final[dict[str, frozenset[str]]] = {
    "continuous": frozenset({"start_time", "time_zone", "restart_daily"}),
    "daily": frozenset({"start_time", "stop_time", "time_zone", "days", "business_days"}),
    "temporary": frozenset({"auto_delete_timeout", "expiration_minutes"}),
    "manual": frozenset(),
}


class Schedule(BaseModel):
    """When a persistent query runs (see the module docstring)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: ScheduleKind = Field(description="continuous, daily, temporary or manual.")
    start_time: str | None = Field(
        default=None,
        description="HH:MM:SS. daily: when it starts; continuous: its daily restart time.",
    )
    stop_time: str | None = Field(default=None, description="HH:MM:SS; daily only.")
    time_zone: str | None = Field(
        default=None, description=f"IANA zone of the times (default {DEFAULT_TIME_ZONE})."
    )
    days: list[Weekday] | None = Field(
        default=None, description="daily: the days it runs (default every day)."
    )
    business_days: bool | None = Field(
        default=None, description="daily: only on business days of the USNYSE calendar."
    )
    restart_daily: bool | None = Field(
        default=None, description="continuous: restart every day at start_time."
    )
    auto_delete_timeout: int | None = Field(
        default=None,
        ge=0,
        description="temporary: seconds after its last client leaves before it is deleted.",
    )
    expiration_minutes: int | None = Field(
        default=None,
        ge=1,
        le=MAX_EXPIRATION_MINUTES,
        description=f"temporary: deleted this long after creation (default "
        f"{DEFAULT_EXPIRATION_MINUTES}).",
    )

    @field_validator("start_time", "stop_time")
    @classmethod
    def _time(cls, value: str | None) -> str | None:
        if value is not None and not _TIME.fullmatch(value):
            raise ValueError(f"{value!r} is not a time of day as HH:MM:SS")
        return value

    @field_validator("time_zone")
    @classmethod
    def _zone(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                zoneinfo.ZoneInfo(value)
            except (zoneinfo.ZoneInfoNotFoundError, ValueError):
                raise ValueError(f"{value!r} is not an IANA time zone") from None
        return value

    @model_validator(mode="after")
    def _fits_its_kind(self) -> Schedule:
        allowed = _FIELDS_OF[self.type]
        given = {name for name in _ALL_OPTIONS if getattr(self, name) is not None}
        stray = sorted(given - allowed)
        if stray:
            raise ValueError(f"{', '.join(stray)} does not apply to a {self.type} schedule")
        if self.type == "daily" and (self.start_time is None or self.stop_time is None):
            raise ValueError("a daily schedule needs start_time and stop_time")
        if self.type == "daily" and self.days is not None and not self.days:
            raise ValueError("days must name at least one day")
        if self.restart_daily and self.start_time is None:
            raise ValueError("restart_daily needs start_time, the time of the restart")
        return self

    @property
    def zone(self) -> str:
        """The time zone the schedule runs in (:data:`DEFAULT_TIME_ZONE` when not given)."""
        return self.time_zone or DEFAULT_TIME_ZONE

    @property
    def day_flags(self) -> list[bool]:
        """Monday to Sunday, as coreplus's daily scheduler takes them."""
        chosen = set(self.days or WEEKDAYS)
        return [day in chosen for day in WEEKDAYS]


_ALL_OPTIONS: Final = tuple(name for name in Schedule.model_fields if name != "type")

CONTINUOUS: Final = Schedule(type="continuous")


def _entries(scheduling: Sequence[str]) -> dict[str, str]:
    values: dict[str, str] = {}
    for entry in scheduling:
        key, _, value = entry.partition("=")
        values[key] = value
    return values


def describe(scheduling: Sequence[str]) -> dict[str, Any]:
    """A query's ``Key=Value`` scheduling as the fields of :class:`Schedule` (kind
    ``other`` for the schedulers callers cannot ask for, such as monthly)."""
    values = _entries(scheduling)
    if not values:
        return {"type": "none"}
    if values.get("SchedulingDisabled") == "true":
        return {"type": "manual"}
    kind = _KINDS_BY_SCHEDULER.get(values.get("SchedulerType", ""), "other")
    described: dict[str, Any] = {"type": kind}
    if kind == "other":
        described["scheduler"] = values.get("SchedulerType", "")
    if kind in ("continuous", "daily"):
        described["start_time"] = values.get("StartTime")
        described["time_zone"] = values.get("TimeZone")
    if kind == "continuous":
        described["restart_daily"] = values.get("DailyRestart") == "true"
    if kind == "daily":
        described["stop_time"] = values.get("StopTime")
        flags = values.get("Days", "").split("=")
        described["days"] = [
            day for day, flag in zip(WEEKDAYS, flags, strict=False) if flag == "true"
        ]
        described["business_days"] = values.get("BusinessDays") == "true"
    if kind == "temporary":
        described["auto_delete"] = values.get("TemporaryAutoDelete") == "true"
        millis = values.get("TemporaryExpirationTimeMillis", "")
        if millis.isdigit():
            described["expiration_minutes"] = int(millis) // 60_000
    return described


def _clock(text: str) -> time:
    hours, minutes, seconds = (int(part) for part in text.split(":"))
    return time(hours, minutes, seconds)


def in_daily_window(schedule: Schedule, now: datetime) -> bool:
    """Whether ``now`` lies in a daily schedule's run window (an overnight window, whose stop
    is before its start, belongs to the day it starts). Business-day calendars are not
    known here: a business-days-only schedule is never assumed to be in its window."""
    if schedule.start_time is None or schedule.stop_time is None:
        return False
    if schedule.business_days:
        return False
    local = now.astimezone(zoneinfo.ZoneInfo(schedule.zone))
    start, stop, clock = _clock(schedule.start_time), _clock(schedule.stop_time), local.time()
    days = set(schedule.days or WEEKDAYS)
    today, yesterday = WEEKDAYS[local.weekday()], WEEKDAYS[(local.weekday() - 1) % 7]
    if start <= stop:
        return today in days and start <= clock < stop
    return (today in days and clock >= start) or (yesterday in days and clock < stop)


def starts_now(schedule: Schedule, enabled: bool, now: datetime) -> bool:
    """Whether the controller starts a query with this schedule by itself as it is added."""
    if not enabled:
        return False
    if schedule.type == "continuous":
        return True
    if schedule.type == "daily":
        return in_daily_window(schedule, now)
    return False

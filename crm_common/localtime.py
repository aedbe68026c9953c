"""The one time-zone setting: the sales floor's local time, for days, months and "9:00 today".

Every service's config.yml sets ``TIMEZONE: ${CRM_TIMEZONE:Asia/Shanghai}``; instants are stored
and exchanged in UTC, and only turned into local days, months and wall-clock times through this.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DEFAULT_TIMEZONE = "Asia/Shanghai"
CONFIG_KEY = "TIMEZONE"


def timezone_name(config: Mapping[str, Any]) -> str:
    """The configured zone's IANA name (``DEFAULT_TIMEZONE`` when unset); ValueError for a
    name the zone database does not know, so a typo stops the service at start, not at 9:00."""
    name = str(config.get(CONFIG_KEY) or DEFAULT_TIMEZONE)
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"{CONFIG_KEY}={name!r} is not a time zone name (e.g. {DEFAULT_TIMEZONE})") from exc
    return name


def zone(config: Mapping[str, Any]) -> ZoneInfo:
    return ZoneInfo(timezone_name(config))

"""Time rules shared by the domain: every datetime is aware; keys and comparisons use UTC."""

from datetime import UTC, datetime


def require_aware(value: datetime, name: str = "datetime") -> datetime:
    """Return ``value`` if it carries a UTC offset; naive datetimes are a bug (STYLE habit 8)."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got naive {value!r}")
    return value


def to_utc(value: datetime) -> datetime:
    """The same instant in UTC."""
    return require_aware(value).astimezone(UTC)


def instant_key(value: datetime) -> str:
    """A compact UTC text for an instant, as iCalendar writes it (``20261123T090000Z``)."""
    return to_utc(value).strftime("%Y%m%dT%H%M%SZ")

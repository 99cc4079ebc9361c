"""The store's errors: one tree, whose classes carry data (``retryable``, the names involved).

The store port (`vmrsched.ports.store`, which re-exports every class here) raises only these;
adapters translate their drivers' exceptions into them at the edge.

Errors, all subclasses of ``StoreError`` (``retryable`` says whether trying again may help)::

    StoreError                   anything the store could not do
    ├── StoreUnavailableError    retryable: database down, locked too long, transaction aborted
    ├── SchemaMismatchError      the database is not at this version's schema: migrate it
    ├── NotFoundError            the thing named does not exist
    │   ├── ReservationNotFoundError
    │   └── EffectNotFoundError
    └── ConflictError            the change breaks a rule the store keeps; nothing was written
        ├── AliasSpaceExhaustedError  no free alias in the attempts allowed
        ├── AliasTakenError           a reservation to record holds an alias already taken
        ├── TokenInUseError           the reservation is used by another meeting
        └── BookingExistsError        another booking holds this meeting or booking id
"""

from __future__ import annotations


class StoreError(Exception):
    """The store could not do what was asked. ``retryable``: trying again later may succeed."""

    retryable: bool = False


class StoreUnavailableError(StoreError):
    """The database cannot be reached, stayed locked too long, or aborted a transaction."""

    retryable = True


class SchemaMismatchError(StoreError):
    """The database's schema is not the one this version of vmrsched was built for."""

    def __init__(self, message: str, *, found: str | None, expected: str) -> None:
        super().__init__(message)
        self.found = found
        self.expected = expected


class NotFoundError(StoreError):
    """The thing named does not exist (or no longer does)."""


class ReservationNotFoundError(NotFoundError):
    """No reservation has this token id: it never existed, expired, or was deleted."""

    def __init__(self, token_id: str) -> None:
        super().__init__(f"no reservation with token id {token_id!r}")
        self.token_id = token_id


class EffectNotFoundError(NotFoundError):
    """No effect has this id."""

    def __init__(self, effect_id: int) -> None:
        super().__init__(f"no effect {effect_id}")
        self.effect_id = effect_id


class ConflictError(StoreError):
    """The change would break a rule the store keeps; nothing was written."""


class AliasSpaceExhaustedError(ConflictError):
    """Every candidate alias tried was taken: widen ``[aliases] suffix_length``."""

    def __init__(self, attempts: int) -> None:
        super().__init__(
            f"no free alias in {attempts} attempts: raise [aliases] suffix_length "
            "or let unused reservations expire sooner"
        )
        self.attempts = attempts


class AliasTakenError(ConflictError):
    """Another reservation holds this alias or numeric alias: draw another one."""

    def __init__(self, alias: str) -> None:
        super().__init__(f"alias {alias!r} is taken")
        self.alias = alias


class TokenInUseError(ConflictError):
    """The reservation's token is already used by another meeting."""

    def __init__(self, token_id: str, meeting_key: str) -> None:
        super().__init__(f"token {token_id!r} is used by another meeting")
        self.token_id = token_id
        self.meeting_key = meeting_key


class BookingExistsError(ConflictError):
    """Another booking already holds this meeting or booking id."""

    def __init__(self, booking_id: str, meeting_key: str) -> None:
        super().__init__(f"meeting {meeting_key!r} already has booking {booking_id!r}")
        self.booking_id = booking_id
        self.meeting_key = meeting_key


__all__ = [
    "AliasSpaceExhaustedError",
    "AliasTakenError",
    "BookingExistsError",
    "ConflictError",
    "EffectNotFoundError",
    "NotFoundError",
    "ReservationNotFoundError",
    "SchemaMismatchError",
    "StoreError",
    "StoreUnavailableError",
    "TokenInUseError",
]

"""Domain errors. Each kind carries a stable `code` and, where there is one, the offending `field`.

The web layer maps these to HTTP once (web/errors.py); services never know about status codes.
"""

from __future__ import annotations


class SchedulerError(Exception):
    """Base of every error the domain raises on purpose."""

    code = "error"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class InvalidInput(SchedulerError):
    """A request value is missing, malformed or out of range."""

    code = "invalid"


class InvalidPlan(InvalidInput):
    """The action plan does not hold together (missing who/what/due, unknown type, ...)."""

    code = "invalid_plan"


class Unauthorized(SchedulerError):
    """No valid credentials came with the request."""

    code = "unauthorized"


class NotFound(SchedulerError):
    code = "not_found"


class SlotTaken(SchedulerError):
    """Someone required is busy, or the slot is held for an offer."""

    code = "slot_taken"


class Conflict(SchedulerError):
    """The request clashes with the current state (e.g. rescheduling a cancelled follow-up)."""

    code = "conflict"


class OfferExpired(SchedulerError):
    code = "offer_expired"


class OfferUsed(SchedulerError):
    """The link has already booked its follow-up (a withdrawn or expired one is
    `OfferExpired`)."""

    code = "offer_used"


class BadToken(SchedulerError):
    """A signed link that does not verify: tampered or malformed."""

    code = "bad_token"


class ProviderUnavailable(SchedulerError):
    """A calendar service failed in a way worth retrying later."""

    code = "provider_unavailable"

    def __init__(self, message: str, *, field: str | None = None,
                 retry_after: float | None = None) -> None:
        super().__init__(message, field=field)
        self.retry_after = retry_after


class NeedsReconnect(SchedulerError):
    """The calendar account's grant is gone (revoked, expired): the rep must connect again."""

    code = "needs_reconnect"


class ProviderRejected(SchedulerError):
    """The calendar service refused the request for good (400, 404, forbidden); do not retry."""

    code = "provider_rejected"


class ConfigError(SchedulerError):
    """A setting is missing or wrong; start-up stops with this message."""

    code = "config"

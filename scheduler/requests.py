"""What callers may ask of the booking services, validated at the edge (API, screen, CLI).

Pydantic names the offending field in its errors; web/errors.py turns them into the
`{"error": {"code", "message", "field"}}` shape of API.md.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

from scheduler.availability import canonical_zone
from scheduler.errors import InvalidInput
from scheduler.lifecycle import Status
from scheduler.plans import BIDI_CONTROLS, BIDI_MESSAGE, STEP_TYPES

_EMAIL = re.compile(r"^[^@\s<>,;\x00-\x1f\x7f]+@[^@\s<>,;\x00-\x1f\x7f]+"
                    r"\.[^@\s<>,;.\x00-\x1f\x7f]+$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _email(value: str) -> str:
    value = value.strip().lower()
    if not _EMAIL.match(value):
        raise ValueError("is not an email address")
    return value


def _timezone(value: str) -> str:
    try:
        canonical_zone(value)
    except InvalidInput as exc:
        raise ValueError(exc.message) from None
    return value


def _one_line(value: str) -> str:
    """No control characters: PostgreSQL refuses NUL, mail headers refuse line breaks."""
    if _CONTROL.search(value):
        raise ValueError("must be one line of text without control characters")
    return _no_bidi(value)


def _no_nul(value: str) -> str:
    """Line breaks are fine in free text; NUL is not (PostgreSQL refuses it)."""
    if "\x00" in value:
        raise ValueError("contains a NUL character")
    return _no_bidi(value)


def _no_bidi(value: str) -> str:
    if BIDI_CONTROLS.search(value):
        raise ValueError(BIDI_MESSAGE)
    return value


def _no_bool(value: object) -> object:
    """JSON true is not 1: integers are integers (numeric text from forms still parses)."""
    if isinstance(value, bool):
        raise ValueError("must be an integer, not true or false")
    return value


def _instant(value: datetime) -> datetime:
    """UTC, and within years a calendar can hold, so date arithmetic cannot overflow."""
    if not 1970 <= value.year <= 2999:
        raise ValueError("is not a date between 1970 and 2999")
    return value.astimezone(UTC)


def _step_type(value: str) -> str:
    if value not in STEP_TYPES:
        raise ValueError(f"unknown step type; use one of {', '.join(STEP_TYPES)}")
    return value


Email = Annotated[str, StringConstraints(max_length=320), AfterValidator(_email)]
TimeZone = Annotated[str, StringConstraints(max_length=64), AfterValidator(_timezone)]
StepType = Annotated[str, AfterValidator(_step_type)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200),
                 AfterValidator(_one_line)]
Instant = Annotated[AwareDatetime, AfterValidator(_instant)]
Int = Annotated[int, BeforeValidator(_no_bool)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class ProspectIn(_Strict):
    name: Name
    email: Email
    timezone: TimeZone
    company: Annotated[str, StringConstraints(max_length=200),
                       AfterValidator(_one_line)] | None = None


class _Meeting(_Strict):
    """Who meets, for how long, about what: common to proposals, bookings and offers (the
    last two through `_Booked`)."""

    prospect: ProspectIn
    duration_minutes: Int = Field(default=30, ge=5, le=480)
    helpers: list[Email] = Field(default_factory=list, max_length=10)
    step_type: StepType = "meeting"
    # Up to 3 h beyond either side's hours, for when the hours never meet.
    allow_outside_hours: bool = False


class ProposalRequest(_Meeting):
    count: Int = Field(default=3, ge=1, le=10)
    earliest: Instant | None = None
    latest: Instant | None = None

    @model_validator(mode="after")
    def _window_order(self) -> ProposalRequest:
        if self.earliest and self.latest and self.latest <= self.earliest:
            raise ValueError("latest must be after earliest")
        return self


class _Booked(_Meeting):
    """What a booked follow-up carries beyond who meets: common to bookings and offers."""

    title: Annotated[str, StringConstraints(max_length=300),
                     AfterValidator(_one_line)] | None = None
    plan: dict[str, Any]
    # A retry with the same key returns the first result instead of booking twice.
    idempotency_key: Annotated[str, StringConstraints(min_length=1, max_length=200),
                               AfterValidator(_one_line)] | None = None


class BookingRequest(_Booked):
    start: Instant


class StepDone(_Strict):
    index: Int = Field(ge=0, le=9)
    done: bool = True


class FollowUpPatch(_Strict):
    """One change at a time: a new start, a cancellation or the meeting marked done, steps
    marked done, or the plan amended (validated by scheduler.plans, which names the step at
    fault)."""

    start: Instant | None = None
    status: Literal[Status.CANCELLED, Status.DONE] | None = None
    steps: list[StepDone] | None = Field(default=None, min_length=1, max_length=10)
    plan: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> FollowUpPatch:
        given = [name for name in ("start", "status", "steps", "plan")
                 if getattr(self, name) is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of start, status, steps or plan")
        return self


class NoNextStep(_Strict):
    """The rep ends the call without a next step, on purpose."""

    prospect: ProspectIn
    reason: Annotated[str, StringConstraints(max_length=500), AfterValidator(_no_nul)] = ""


class OfferRequest(_Booked):
    """Send a link instead of booking: hand-picked `slots`, or the best `count` proposed."""

    slots: list[Instant] | None = Field(default=None, min_length=1, max_length=10)
    count: Int = Field(default=3, ge=1, le=10)
    expires_in_minutes: Int | None = Field(default=None, ge=5, le=60 * 24 * 30)


MAX_BUFFER_MINUTES = 240
MAX_NOTICE_MINUTES = 14 * 24 * 60


def _video_link(value: str) -> str:
    if not value.startswith("https://") or len(value) <= len("https://") or " " in value:
        raise ValueError("must be an https:// address without spaces")
    return _one_line(value)


VideoLink = Annotated[str, StringConstraints(strip_whitespace=True, max_length=500),
                      AfterValidator(_video_link)]


class AvailabilityRequest(_Strict):
    """The whole of a rep's availability (PUT replaces it); the ranges are checked by
    `update_availability`, which names the offending weekday, date or range."""

    timezone: TimeZone
    working_hours: dict[str, Any]
    buffer_before_minutes: Int = Field(ge=0, le=MAX_BUFFER_MINUTES)
    buffer_after_minutes: Int = Field(ge=0, le=MAX_BUFFER_MINUTES)
    min_notice_minutes: Int = Field(ge=0, le=MAX_NOTICE_MINUTES)
    default_duration_minutes: Int = Field(ge=5, le=480)
    prospect_daytime: list[Any]
    video_link: VideoLink | None = None

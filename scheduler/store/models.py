"""The tables. Names follow the vocabulary of DESIGN.md; times are UTC (UTCDateTime)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from scheduler.lifecycle import OfferStatus, Status
from scheduler.store.types import UTCDateTime

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def new_id() -> str:
    return uuid.uuid4().hex


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class User(Base):
    """A rep; helpers are reps too."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    timezone: Mapped[str] = mapped_column(String(64))
    password_hash: Mapped[str | None] = mapped_column(String(255))
    working_hours: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Part of every session cookie; raising it (sign-out, a new password) ends them all.
    session_generation: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # The rep's own availability and preferences; null follows the deployment's setting.
    buffer_before_minutes: Mapped[int | None] = mapped_column(Integer)
    buffer_after_minutes: Mapped[int | None] = mapped_column(Integer)
    min_notice_minutes: Mapped[int | None] = mapped_column(Integer)
    default_duration_minutes: Mapped[int | None] = mapped_column(Integer)
    prospect_daytime: Mapped[list[list[str]] | None] = mapped_column(JSON)
    video_link: Mapped[str | None] = mapped_column(String(500))


class ApiToken(Base):
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship(lazy="joined")


class Prospect(Base):
    __tablename__ = "prospects"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    company: Mapped[str | None] = mapped_column(String(200))
    timezone: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Connection(Base):
    """A rep's link to one calendar account, with encrypted credentials and a sync cursor."""

    __tablename__ = "connections"
    __table_args__ = (UniqueConstraint("user_id", "provider", "account",
                                       name="uq_connections_account"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    provider: Mapped[str] = mapped_column(String(20))
    account: Mapped[str] = mapped_column(String(320))
    status: Mapped[str] = mapped_column(String(20), default="active")
    status_message: Mapped[str | None] = mapped_column(Text)
    credentials: Mapped[bytes | None] = mapped_column(LargeBinary)
    key_id: Mapped[str | None] = mapped_column(String(40))
    busy_calendars: Mapped[list[str]] = mapped_column(JSON, default=list)
    booking_calendar: Mapped[str | None] = mapped_column(String(320))
    sync_cursor: Mapped[str | None] = mapped_column(Text)
    channel: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    last_synced_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Why the last sync failed, and when; cleared by the next one that succeeds.
    last_error: Mapped[str | None] = mapped_column(Text)
    last_error_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Set by the first change notification, cleared when the sync starts: a burst of
    # notifications costs one sync.
    sync_requested_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When a sync last read this account's busy time into mirrored_busy, and up to when;
    # proposals read the mirror while it is fresh (scheduler.mirror), else the provider.
    busy_mirrored_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    busy_mirrored_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship(lazy="joined")


class FollowUp(Base):
    """A booked meeting with its plan; `event_uid` is the id every calendar write reuses."""

    __tablename__ = "followups"
    __table_args__ = (UniqueConstraint("rep_id", "idempotency_key",
                                       name="uq_followups_idempotency"),
                      Index("ix_followups_rep_start", "rep_id", "start_at"),
                      Index("ix_followups_offer", "offer_id"))

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    rep_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    prospect_id: Mapped[int] = mapped_column(ForeignKey("prospects.id"))
    offer_id: Mapped[str | None] = mapped_column(ForeignKey("offers.id"))
    title: Mapped[str] = mapped_column(String(300))
    step_type: Mapped[str] = mapped_column(String(40))
    start: Mapped[datetime] = mapped_column("start_at", UTCDateTime)
    end: Mapped[datetime] = mapped_column("end_at", UTCDateTime)
    status: Mapped[str] = mapped_column(String(20), default=Status.BOOKED.value)
    sequence: Mapped[int] = mapped_column(Integer, default=0)
    # Each attendee's last answer as the calendar showed it (email -> needsAction, accepted,
    # declined, tentative), so sync logs a change of answer once however often it sees it.
    responses: Mapped[dict[str, str] | None] = mapped_column(JSON, default=dict)
    event_uid: Mapped[str] = mapped_column(String(64), unique=True, default=new_id)
    idempotency_key: Mapped[str | None] = mapped_column(String(200))
    # Where to meet: the calendar's own conference (Meet, Teams) or the rep's link.
    video_link: Mapped[str | None] = mapped_column(String(1000))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    rep: Mapped[User] = relationship(lazy="joined")
    prospect: Mapped[Prospect] = relationship(lazy="joined")
    helpers: Mapped[list[User]] = relationship(secondary="followup_helpers", lazy="selectin",
                                               order_by="User.email")
    steps: Mapped[list[Step]] = relationship(lazy="selectin", order_by="Step.position",
                                             cascade="all, delete-orphan")
    events: Mapped[list[CalendarEventRecord]] = relationship(lazy="selectin",
                                                            cascade="all, delete-orphan")


class FollowUpHelper(Base):
    __tablename__ = "followup_helpers"

    followup_id: Mapped[str] = mapped_column(ForeignKey("followups.id", ondelete="CASCADE"),
                                             primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)


class Step(Base):
    """One step of the action plan: who will do what by when, with help from whom."""

    __tablename__ = "steps"
    __table_args__ = (Index("ix_steps_followup_due", "followup_id", "due_date"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    followup_id: Mapped[str] = mapped_column(ForeignKey("followups.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    who: Mapped[str] = mapped_column(String(320))
    what: Mapped[str] = mapped_column(Text)
    type: Mapped[str] = mapped_column(String(40))
    due_date: Mapped[date] = mapped_column(Date)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    due_text: Mapped[str] = mapped_column(String(40))
    help_from: Mapped[list[str]] = mapped_column(JSON, default=list)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    stalled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class CalendarEventRecord(Base):
    """Where a follow-up's event was written, so later changes reach the same event."""

    __tablename__ = "calendar_events"
    __table_args__ = (UniqueConstraint("followup_id", "provider", "calendar_id",
                                       name="uq_calendar_events_target"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    followup_id: Mapped[str] = mapped_column(ForeignKey("followups.id", ondelete="CASCADE"))
    connection_id: Mapped[int | None] = mapped_column(ForeignKey("connections.id"))
    provider: Mapped[str] = mapped_column(String(20))
    calendar_id: Mapped[str] = mapped_column(String(320))
    event_id: Mapped[str] = mapped_column(String(1024))
    etag: Mapped[str | None] = mapped_column(String(200))
    sequence: Mapped[int] = mapped_column(Integer, default=0)


class Reservation(Base):
    """A person's time taken by a live follow-up or a hold. On PostgreSQL an exclusion
    constraint forbids two active reservations of one person that overlap."""

    __tablename__ = "reservations"
    __table_args__ = (Index("ix_reservations_user_time", "user_id", "start_at", "end_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    start: Mapped[datetime] = mapped_column("start_at", UTCDateTime)
    end: Mapped[datetime] = mapped_column("end_at", UTCDateTime)
    followup_id: Mapped[str | None] = mapped_column(ForeignKey("followups.id",
                                                               ondelete="CASCADE"))
    hold_id: Mapped[int | None] = mapped_column(ForeignKey("holds.id", ondelete="CASCADE"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Offer(Base):
    """A signed invite link carrying held slots."""

    __tablename__ = "offers"
    __table_args__ = (UniqueConstraint("rep_id", "idempotency_key",
                                       name="uq_offers_idempotency"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    rep_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    prospect_id: Mapped[int] = mapped_column(ForeignKey("prospects.id"))
    title: Mapped[str] = mapped_column(String(300))
    step_type: Mapped[str] = mapped_column(String(40))
    duration_minutes: Mapped[int] = mapped_column(Integer)
    helper_emails: Mapped[list[str]] = mapped_column(JSON, default=list)
    plan: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(20), default=OfferStatus.OPEN.value)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    idempotency_key: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    rep: Mapped[User] = relationship(lazy="joined")
    prospect: Mapped[Prospect] = relationship(lazy="joined")
    holds: Mapped[list[Hold]] = relationship(lazy="selectin", order_by="Hold.start")


class Hold(Base):
    """A slot reserved for an offer; busy for everyone else until it expires or is released."""

    __tablename__ = "holds"

    id: Mapped[int] = mapped_column(primary_key=True)
    offer_id: Mapped[str] = mapped_column(ForeignKey("offers.id", ondelete="CASCADE"))
    start: Mapped[datetime] = mapped_column("start_at", UTCDateTime)
    end: Mapped[datetime] = mapped_column("end_at", UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    released_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class OutboxMessage(Base):
    """Work to do after a commit (calendar write, invite, webhook), retried until done."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_pending", "done_at", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    followup_id: Mapped[str | None] = mapped_column(ForeignKey("followups.id",
                                                               ondelete="CASCADE"))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    failed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class LogEntry(Base):
    """The append-only record managers and CRMs read."""

    __tablename__ = "log_entries"
    __table_args__ = (Index("ix_log_entries_at", "at"),
                      Index("ix_log_entries_rep", "rep_id", "id"),
                      Index("ix_log_entries_rep_kind", "rep_id", "kind", "id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    kind: Mapped[str] = mapped_column(String(40))
    rep_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    followup_id: Mapped[str | None] = mapped_column(String(32))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class WebhookDelivery(Base):
    """A log entry the CRM has received; the log itself stays append-only."""

    __tablename__ = "webhook_deliveries"

    log_id: Mapped[int] = mapped_column(ForeignKey("log_entries.id"), primary_key=True)
    delivered_at: Mapped[datetime] = mapped_column(UTCDateTime)


class LocalEvent(Base):
    """An event in the built-in calendar: one row per calendar that holds a copy."""

    __tablename__ = "local_events"
    __table_args__ = (Index("ix_local_events_calendar_time", "calendar_id", "start_at"),
                      Index("ix_local_events_change", "calendar_id", "change_seq"))

    calendar_id: Mapped[str] = mapped_column(String(320), primary_key=True)
    uid: Mapped[str] = mapped_column(String(64), primary_key=True)
    start: Mapped[datetime] = mapped_column("start_at", UTCDateTime)
    end: Mapped[datetime] = mapped_column("end_at", UTCDateTime)
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="")
    organizer: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    attendees: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    properties: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(20), default="confirmed")
    sequence: Mapped[int] = mapped_column(Integer, default=0)
    change_seq: Mapped[int] = mapped_column(Integer, default=0)


class BusyVersion(Base):
    """How often one calendar's busy time has changed (a key of scheduler.mirror), bumped in
    the transaction that changes it: a process's mirror is current while its copy's version
    is the one stored here."""

    __tablename__ = "busy_versions"

    key: Mapped[str] = mapped_column(String(400), primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger, default=0)


class MirroredBusy(Base):
    """A connected account's busy time as its last sync read it, over the mirror's horizon."""

    __tablename__ = "mirrored_busy"
    __table_args__ = (Index("ix_mirrored_busy_connection", "connection_id", "start_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    connection_id: Mapped[int] = mapped_column(ForeignKey("connections.id",
                                                          ondelete="CASCADE"))
    start: Mapped[datetime] = mapped_column("start_at", UTCDateTime)
    end: Mapped[datetime] = mapped_column("end_at", UTCDateTime)


class ShortLink(Base):
    """A short random id a person can paste, standing for a long signed link; its expiry is
    kept here, and the signed token it stands for still carries its own checks."""

    __tablename__ = "short_links"
    __table_args__ = (Index("ix_short_links_target", "kind", "target_id"),)

    id: Mapped[str] = mapped_column(String(24), primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))  # offer | followup
    target_id: Mapped[str] = mapped_column(String(64))
    token: Mapped[str] = mapped_column(Text)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

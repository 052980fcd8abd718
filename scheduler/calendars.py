"""Which calendar each person lives in, and reading or writing them through the right
adapter: busy time is read in one batched call per provider, the providers in parallel."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import and_, bindparam, func, or_, select
from sqlalchemy.orm import lazyload

from scheduler.availability import Interval
from scheduler.busy_versions import (
    CONNECTION,
    LOCAL,
    RESERVED,
    connection_key,
    local_key,
    reserved_key,
    stored_version,
)
from scheduler.clock import Clock
from scheduler.credentials import CredentialCipher
from scheduler.errors import NeedsReconnect, ProviderUnavailable
from scheduler.log import append
from scheduler.mirror import BusyMirror, max_age
from scheduler.packed import PackedBusy
from scheduler.providers.base import CalendarProvider, ProviderRegistry
from scheduler.providers.local import LocalCalendar
from scheduler.readmodels import PersonView
from scheduler.settings import Settings
from scheduler.store import Store
from scheduler.store.models import Connection, User

# provider name -> builder(connection, credentials, settings, save_credentials)
ProviderBuilder = Callable[[Connection, dict[str, Any], Settings,
                            Callable[[dict[str, Any]], None]], CalendarProvider]


@dataclass(frozen=True)
class Source:
    """Where one person's calendar is read and written."""

    provider: str
    connection_id: int | None
    calendar_id: str  # where bookings go
    busy_calendars: tuple[str, ...] = ()  # what counts as busy; () means calendar_id alone


@dataclass(frozen=True)
class VideoMeeting:
    link: str | None  # the rep's own link
    provider: str | None  # or the calendar's kind of meeting ("Google Meet")


@dataclass
class BusyReport:
    busy: dict[str, list[Interval]]
    errors: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Roster:
    """The rep and the asked-for helpers who exist (by address), their connections and the
    versions of their busy time: what a proposal needs before the maths, in one query."""

    users: dict[str, User]
    connections: tuple[Connection, ...]
    versions: dict[str, int]


@dataclass
class ProposalBusy:
    """A proposal's busy time: packed parts per person, and who could not be read."""

    packed: dict[str, list[PackedBusy]]
    errors: dict[str, str] = field(default_factory=dict)


class Calendars:
    def __init__(self, *, store: Store, settings: Settings, clock: Clock,
                 providers: ProviderRegistry,
                 builders: dict[str, ProviderBuilder] | None = None,
                 cipher: CredentialCipher | None = None) -> None:
        self.store = store
        self.settings = settings
        self.clock = clock
        self.providers = providers
        self.local = LocalCalendar(store)
        self.mirror = BusyMirror(store)
        self.builders = dict(builders or {})
        self._cipher = cipher

    @property
    def cipher(self) -> CredentialCipher:
        if self._cipher is None:
            self._cipher = CredentialCipher.from_settings(self.settings)
        return self._cipher

    # Where people's calendars are

    def source_of(self, user: User | PersonView, connections: Sequence[Connection]) -> Source:
        # A connection that needs reconnecting is still where this person lives: reading it
        # fails with a message the rep sees, rather than quietly reading an empty calendar.
        for connection in connections:
            if connection.user_id == user.id and connection.status in ("active",
                                                                         "needs_reconnect"):
                booking = connection.booking_calendar or connection.account
                return Source(connection.provider, connection.id, booking,
                              tuple(connection.busy_calendars or ()) or (booking,))
        return Source(LocalCalendar.name, None, user.email)

    def roster(self, rep: User, helpers: Sequence[str]) -> Roster:
        """One query: users, their connections and their busy versions (scheduler.mirror)."""
        with self.store.reading() as session:
            rows = session.execute(ROSTER_QUERY, {"rep_id": rep.id,
                                                   "helpers": list(helpers)}).all()
        users: dict[str, User] = {}
        connections: list[Connection] = []
        versions: dict[str, int] = {}
        for user, connection, reserved, local, mirrored in rows:
            users.setdefault(user.email, user)
            versions[reserved_key(user.id)] = reserved or 0
            versions[local_key(user.email)] = local or 0
            if connection is not None:
                connections.append(connection)
                versions[connection_key(connection.id)] = mirrored or 0
        return Roster(users=users, connections=tuple(connections), versions=versions)

    def mirrored_busy(self, roster: Roster, people: Sequence[User], window: Interval,
                      now: datetime) -> ProposalBusy:
        """Everyone's busy time for a proposal: reservations and built-in calendars from the
        mirror; a connected account from its mirror while fresh, else from the provider
        (batched as in `busy`)."""
        wanted: dict[str, list[str]] = {}  # email -> keys
        live: list[User] = []
        sources: dict[str, Source] = {}
        by_id = {c.id: c for c in roster.connections}
        for person in people:
            source = sources[person.email] = self.source_of(person, roster.connections)
            keys = wanted[person.email] = [reserved_key(person.id)]
            if source.connection_id is None:
                keys.append(local_key(person.email))
            elif self._mirror_fresh(by_id[source.connection_id], window, now):
                keys.append(connection_key(source.connection_id))
            else:
                live.append(person)
        copies = self.mirror.busy({key: roster.versions.get(key, 0)
                                   for keys in wanted.values() for key in keys}, window, now)
        result = ProposalBusy(packed={email: [copies[key] for key in keys if len(copies[key])]
                                      for email, keys in wanted.items()})
        if live:
            report = self.busy(live, window, sources=sources)
            for email, intervals in report.busy.items():
                if intervals:
                    result.packed[email].append(PackedBusy.from_intervals(intervals))
            result.errors.update(report.errors)
        return result

    def _mirror_fresh(self, connection: Connection, window: Interval, now: datetime) -> bool:
        """A connection's mirror answers while it covers the window and is younger than the
        setting: longer when its push channel is open, as a change would have been told."""
        if (connection.status != "active" or connection.busy_mirrored_at is None
                or connection.busy_mirrored_until is None
                or window.end > connection.busy_mirrored_until):
            return False
        return now - connection.busy_mirrored_at <= max_age(connection.channel, now,
                                                            self.settings)

    def sources(self, people: Sequence[User | PersonView]) -> dict[str, Source]:
        with self.store.reading() as session:
            connections = session.scalars(select(Connection).where(
                Connection.user_id.in_([p.id for p in people]),
                Connection.provider != LocalCalendar.name).order_by(Connection.id)).all()
            return {person.email: self.source_of(person, connections) for person in people}

    def sends_own_invites(self, rep: User | PersonView) -> bool:
        """Whether the rep's provider emails attendees itself; else Nextstep sends the .ics."""
        description = self.providers.get(self.sources([rep])[rep.email].provider)
        return description is not None and description.sends_own_invites

    def makes_video_meetings(self, source: Source) -> bool:
        """Whether the booking calendar makes a video meeting (Meet, Teams) for an event."""
        description = self.providers.get(source.provider)
        return description is not None and description.video_meetings is not None

    def video_meeting_label(self, rep: User | PersonView) -> VideoMeeting:
        """What a prospect is told before booking: the rep's link, or the calendar's own
        kind of meeting that comes with the invite."""
        description = self.providers.get(self.sources([rep])[rep.email].provider)
        provider = description.video_meetings if description else None
        return VideoMeeting(link=None if provider else rep.video_link, provider=provider)

    # Reading

    def busy(self, people: Sequence[User], window: Interval, *,
             sources: dict[str, Source] | None = None) -> BusyReport:
        """Busy time of everyone, one batched call per provider account, all in parallel.
        People on the rep's provider are read through the rep's account (a colleague's
        free/busy is visible inside one organisation), so a proposal costs one round trip."""
        sources = sources if sources is not None else self.sources(people)
        groups: dict[tuple[str, int | None], list[str]] = {}
        lead = sources[people[0].email] if people else None
        through_lead = lead is not None and self._reads_colleagues(lead.provider)
        for person in people:
            source = sources[person.email]
            key = (source.provider, source.connection_id)
            if through_lead and source.provider == lead.provider:
                key = (lead.provider, lead.connection_id)
            groups.setdefault(key, []).append(person.email)

        def read(key: tuple[str, int | None]) -> tuple[dict, dict]:
            provider_name, connection_id = key
            emails = groups[key]
            calendar_ids = {email: self._calendars_for(sources[email], email)
                            for email in emails}
            try:
                provider = self.provider(provider_name, connection_id)
                result = provider.busy(list(dict.fromkeys(
                    cid for ids in calendar_ids.values() for cid in ids)), window)
            except NeedsReconnect as exc:
                if connection_id is not None:
                    self.mark_needs_reconnect(connection_id, exc.message)
                return {}, {email: exc.message for email in emails}
            except ProviderUnavailable as exc:
                return {}, {email: exc.message for email in emails}
            busy = {email: _merged([result.busy.get(cid, []) for cid in ids])
                    for email, ids in calendar_ids.items()}
            errors = {email: "; ".join(result.errors[cid] for cid in ids
                                       if cid in result.errors)
                      for email, ids in calendar_ids.items()
                      if any(cid in result.errors for cid in ids)}
            return busy, errors

        report = BusyReport(busy={})
        if len(groups) == 1:
            results = [read(next(iter(groups)))]
        else:
            with ThreadPoolExecutor(max_workers=len(groups)) as pool:
                results = list(pool.map(read, groups))
        for busy, errors in results:
            report.busy.update(busy)
            report.errors.update(errors)
        return report

    def _reads_colleagues(self, name: str) -> bool:
        description = self.providers.get(name)
        return description is not None and description.reads_colleagues

    @staticmethod
    def _calendars_for(source: Source, email: str) -> tuple[str, ...]:
        """A person's own connection reads the calendars they chose; someone read through
        a colleague's account (or with no connection) is read by their address."""
        if source.connection_id is None:
            return (email,)
        return source.busy_calendars or (source.calendar_id,)

    # Adapters

    def provider(self, name: str, connection_id: int | None) -> CalendarProvider:
        if name == LocalCalendar.name or connection_id is None:
            return self.local
        with self.store.reading() as session:
            connection = session.get(Connection, connection_id)
        if connection is None or connection.status != "active":
            raise NeedsReconnect(f"the {name} connection needs to be connected again",
                                 field="connection")
        builder = self.builders.get(name)
        if builder is None:
            raise ProviderUnavailable(f"the {name} calendar is not configured here",
                                      field="connection")
        credentials = self.cipher.decrypt(connection.key_id, connection.credentials)
        return builder(connection, credentials, self.settings,
                       lambda fresh: self.save_credentials(connection_id, fresh))

    def save_credentials(self, connection_id: int, credentials: dict[str, Any]) -> None:
        key_id, token = self.cipher.encrypt(credentials)
        with self.store.transaction() as session:
            connection = session.get(Connection, connection_id)
            if connection is not None:
                connection.key_id, connection.credentials = key_id, token

    def mark_needs_reconnect(self, connection_id: int, reason: str) -> None:
        """Stop using one account until the rep connects it again; others are untouched."""
        with self.store.transaction() as session:
            connection = session.get(Connection, connection_id)
            if connection is None or connection.status == "needs_reconnect":
                return
            connection.status, connection.status_message = "needs_reconnect", reason
            append(session, "connection.needs_reconnect", at=self.clock.now(),
                   rep_id=connection.user_id, provider=connection.provider,
                   account=connection.account, reason=reason)


# Built once: composing it cost a proposal more than running it. Parameters: rep_id and
# helpers (a list of addresses).
ROSTER_QUERY = (
    select(User, Connection, stored_version(RESERVED, User.id),
           stored_version(LOCAL, func.lower(User.email)),
           stored_version(CONNECTION, Connection.id))
    .outerjoin(Connection, and_(Connection.user_id == User.id,
                                Connection.provider != LocalCalendar.name,
                                Connection.status.in_(("active", "needs_reconnect"))))
    .where(or_(User.id == bindparam("rep_id"),
               User.email.in_(bindparam("helpers", expanding=True))))
    .order_by(User.id, Connection.id)
    .options(lazyload(Connection.user)))


def _merged(lists: list[list[Interval]]) -> list[Interval]:
    """One person's busy time from several calendars, in order (a single calendar's list
    is already in order: no sort, which a proposal would otherwise pay for every span)."""
    if len(lists) == 1:
        return list(lists[0])
    return sorted(span for spans in lists for span in spans)

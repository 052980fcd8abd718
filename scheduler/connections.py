"""Connections: a rep's calendar accounts. A finished OAuth flow becomes a Connection with its
credentials encrypted; the rep chooses which calendars count as busy and which one receives
bookings; push channels (Google watch, Graph subscriptions) are opened, renewed and checked;
a change notification only asks for a sync, and a burst of them costs one; disconnecting
revokes the grant and deletes the tokens."""

from __future__ import annotations

import hmac
import logging
import secrets
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import func, select, update

from scheduler.access import Viewer
from scheduler.accounts import get_user, get_user_by_email
from scheduler.calendars import Calendars
from scheduler.clock import Clock
from scheduler.errors import (
    InvalidInput,
    NeedsReconnect,
    NotFound,
    ProviderRejected,
    ProviderUnavailable,
)
from scheduler.log import append
from scheduler.mirror import max_age
from scheduler.providers.base import CalendarInfo, RawRequest, Reply
from scheduler.readmodels import ConnectionView
from scheduler.settings import Settings
from scheduler.store import Store
from scheduler.store.models import Connection, User
from scheduler.sync import SyncResult, sync_connection

logger = logging.getLogger(__name__)

RENEW_BEFORE = timedelta(hours=12)
# A busy mirror is refreshed this long before it would be too old to answer proposals.
POLL_AHEAD = timedelta(minutes=1)
HOOKS = "/hooks/"  # + the provider's name: where its change notifications arrive


def offered_providers(*, calendars: Calendars) -> list[str]:
    """A provider whose client id is unset is not offered (API.md)."""
    return calendars.providers.offered(calendars.settings)


def connections_of(store: Store, user_id: int) -> list[ConnectionView]:
    with store.reading() as session:
        return [ConnectionView.from_row(c) for c in session.scalars(
            select(Connection).where(Connection.user_id == user_id).order_by(Connection.id))]


def get_connection_or_raise(store: Store, connection_id: int, *,
                            user_id: int) -> ConnectionView:
    with store.reading() as session:
        connection = session.get(Connection, connection_id)
        if connection is None or not Viewer.rep(user_id).may_see(connection.user_id):
            raise NotFound("no such connection", field="connection")
        return ConnectionView.from_row(connection)


def connection_problems(user_id: int, *, store: Store, calendars: Calendars) -> list[str]:
    """What the live-call screen must tell the rep: accounts that stopped working."""
    label = calendars.providers.label
    return [f"Your {label(c.provider)} account {c.account} needs to be "
            f"connected again; until then its busy times cannot be read."
            for c in connections_of(store, user_id) if c.status == "needs_reconnect"]


def calendar_choices(connection: ConnectionView, *,
                     calendars: Calendars) -> tuple[list[CalendarInfo], str | None]:
    """The calendars the rep can pick from on /connections: what the provider lists, plus the
    account's own and those already chosen (so a choice never vanishes from the form), and
    why the list could not be read, if it could not."""
    listed: list[CalendarInfo] = []
    problem = None
    if connection.status == "active":
        try:
            listed = calendars.provider(connection.provider, connection.id).list_calendars()
        except NeedsReconnect as exc:
            calendars.mark_needs_reconnect(connection.id, exc.message)
            problem = exc.message
        except (ProviderUnavailable, ProviderRejected) as exc:
            problem = exc.message
    known = {c.id.lower() for c in listed}
    for calendar_id in [connection.account, connection.booking_calendar or "",
                        *(connection.busy_calendars or [])]:
        if calendar_id and calendar_id.lower() not in known:
            known.add(calendar_id.lower())
            own = calendar_id.lower() == connection.account.lower()
            listed.append(CalendarInfo(id=calendar_id, name=calendar_id, primary=own,
                                       can_write=own or calendar_id == connection.booking_calendar))
    return listed, problem


# --- connecting --------------------------------------------------------------------------------

def rep_for_sign_in(provider: str, credentials: dict[str, Any], *, store: Store,
                    calendars: Calendars) -> User | None:
    """Who a "Sign in with ..." is, or None. A provider that vouches for the address (Google,
    for one it has verified) finds the rep by it. Otherwise (Microsoft's preferred_username
    proves no address) only the rep who connected that very account before signs in."""
    email = str(credentials.get("email") or "").strip().lower()
    if credentials.get("email_verified"):
        return get_user_by_email(store, email)
    with store.reading() as session:
        connected = session.execute(select(
            Connection.user_id, Connection.key_id, Connection.credentials).where(
            Connection.provider == provider, Connection.account == email)).all()
    for user_id, key_id, sealed in connected:
        try:
            stored = calendars.cipher.decrypt(key_id, sealed)
        except NeedsReconnect:
            continue
        if stored.get("account_id") and stored.get("account_id") == credentials.get(
                "account_id"):
            return get_user(store, user_id)
    return None


def connect_account(*, user_id: int, provider: str, credentials: dict[str, Any], store: Store,
                    calendars: Calendars, clock: Clock) -> ConnectionView:
    """Store what a finished OAuth flow returned. Connecting the same account again replaces
    its tokens and makes it active, keeping the rep's calendar choices and sync cursor."""
    account = str(credentials.get("email") or "").strip().lower()
    if not account:
        raise ProviderRejected(f"{calendars.providers.label(provider)} did not say which "
                               "account signed in",
                               field="account")
    key_id, token = calendars.cipher.encrypt(credentials)
    now = clock.now()
    with store.transaction() as session:
        connection = session.scalar(select(Connection).where(
            Connection.user_id == user_id, Connection.provider == provider,
            Connection.account == account))
        if connection is None:
            connection = Connection(user_id=user_id, provider=provider, account=account,
                                    busy_calendars=[account], booking_calendar=account,
                                    created_at=now)
            session.add(connection)
        connection.key_id, connection.credentials = key_id, token
        connection.status, connection.status_message = "active", None
        session.flush()
        append(session, "connection.connected", at=now, rep_id=user_id, provider=provider,
               account=account)
        connection_id = connection.id
    with store.reading() as session:
        return ConnectionView.from_row(session.get(Connection, connection_id))


def choose_calendars(connection_id: int, *, user_id: int, busy: list[str], booking: str,
                     store: Store, calendars: Calendars) -> ConnectionView:
    """Which calendars count as busy, and which one receives bookings (always busy too)."""
    booking = booking.strip()
    busy = list(dict.fromkeys(c.strip() for c in busy if c.strip()))
    if not booking:
        raise InvalidInput("choose the calendar that receives bookings", field="booking_calendar")
    if len(booking) > 320 or any(len(c) > 320 for c in busy):
        raise InvalidInput("a calendar id is at most 320 characters", field="busy_calendars")
    if booking not in busy:
        busy.insert(0, booking)
    with store.transaction() as session:
        connection = session.get(Connection, connection_id)
        if connection is None or not Viewer.rep(user_id).may_see(connection.user_id):
            raise NotFound("no such connection", field="connection")
        most = calendars.providers.get_or_raise(connection.provider).limits.busy_calendars
        if len(busy) > most:
            raise InvalidInput(f"at most {most} calendars can count as busy",
                               field="busy_calendars")
        if (connection.busy_calendars, connection.booking_calendar) != (busy, booking):
            # The mirror read other calendars: proposals ask the provider until a sync
            # reads these.
            connection.busy_mirrored_at = connection.busy_mirrored_until = None
        connection.busy_calendars, connection.booking_calendar = busy, booking
        return ConnectionView.from_row(connection)


def disconnect(connection_id: int, *, user_id: int, store: Store, calendars: Calendars,
               settings: Settings, clock: Clock) -> bool:
    """Close the push channel, revoke the grant, delete the tokens. The tokens are deleted
    even when the provider cannot be reached to revoke: the rep asked us to forget them.
    Returns whether the provider confirmed the revocation."""
    connection = get_connection_or_raise(store, connection_id, user_id=user_id)
    with store.reading() as session:
        row = session.get(Connection, connection_id)
        key_id, sealed, channel = row.key_id, row.credentials, row.channel
    try:
        close_push_channel(connection.provider, connection_id, channel, calendars=calendars)
    except (ProviderUnavailable, ProviderRejected, NeedsReconnect) as exc:
        logger.info("closing the push channel of connection %s: %s", connection_id, exc)
    revoked = False
    try:
        credentials = calendars.cipher.decrypt(key_id, sealed)
        oauth = calendars.providers.get_or_raise(connection.provider).oauth
        revoked = oauth is not None and oauth.revoke(settings, credentials)
    except (ProviderUnavailable, ProviderRejected, NeedsReconnect) as exc:
        logger.warning("revoking connection %s: %s", connection_id, exc.message)
    with store.transaction() as session:
        row = session.get(Connection, connection_id)
        session.delete(row)
        append(session, "connection.disconnected", at=clock.now(), rep_id=user_id,
               provider=connection.provider, account=connection.account, revoked=revoked)
    return revoked


# --- push channels -----------------------------------------------------------------------------

def open_push_channel(connection_id: int, *, store: Store, calendars: Calendars, clock: Clock,
                      settings: Settings) -> dict[str, Any] | None:
    """Ask the provider to tell us about changes. Some call only HTTPS addresses (Google);
    where the app is not reachable so, or the provider has no push channel, polling
    (`nextstep sync`) is what keeps it current."""
    with store.reading() as session:
        connection = session.get(Connection, connection_id)
    push = calendars.providers.get_or_raise(connection.provider).push
    address = settings.base_url.rstrip("/") + HOOKS + connection.provider
    if push is None or (push.https_only and urlsplit(address).scheme != "https"):
        return None
    channel = push.open(calendars.provider(connection.provider, connection.id),
                        calendar_id=connection.booking_calendar or connection.account,
                        address=address, secret=secrets.token_urlsafe(32), now=clock.now())
    with store.transaction() as session:
        session.get(Connection, connection_id).channel = channel
    if connection.channel:  # the one it replaces (connected again, or renewed): stop it
        try:
            close_push_channel(connection.provider, connection.id, connection.channel,
                               calendars=calendars)
        except (ProviderUnavailable, ProviderRejected) as exc:  # it lapses by itself
            logger.info("closing the old channel of connection %s: %s", connection_id,
                        exc.message)
    return channel


def close_push_channel(provider: str, connection_id: int, channel: dict[str, Any] | None, *,
                       calendars: Calendars) -> None:
    push = calendars.providers.get_or_raise(provider).push
    if not channel or push is None:
        return
    push.close(calendars.provider(provider, connection_id), channel)


def renew_push_channels(*, store: Store, calendars: Calendars, clock: Clock,
                        settings: Settings) -> int:
    """Channels that would lapse within RENEW_BEFORE are renewed: extended where the provider
    can (a Graph subscription), else replaced (a Google channel)."""
    now = clock.now()
    with store.reading() as session:
        due = [c for c in session.scalars(select(Connection).where(
                   Connection.status == "active", Connection.channel.is_not(None)))
               if c.channel and _expiry(c.channel) - now < RENEW_BEFORE]
    renewed = 0
    for connection in due:
        try:
            _renew(connection, store=store, calendars=calendars, clock=clock,
                   settings=settings)
            renewed += 1
        except NeedsReconnect as exc:
            calendars.mark_needs_reconnect(connection.id, exc.message)
        except (ProviderUnavailable, ProviderRejected) as exc:
            logger.warning("renewing the channel of connection %s: %s", connection.id,
                           exc.message)
    return renewed


def _renew(connection: Connection, *, store: Store, calendars: Calendars, clock: Clock,
           settings: Settings) -> None:
    push = calendars.providers.get_or_raise(connection.provider).push
    adapter = calendars.provider(connection.provider, connection.id)
    renewed = push.renew(adapter, connection.channel, now=clock.now()) if push else None
    if renewed is None:  # it cannot be extended: open another, stop this one
        open_push_channel(connection.id, store=store, calendars=calendars, clock=clock,
                          settings=settings)
        return
    with store.transaction() as session:
        session.get(Connection, connection.id).channel = renewed


def receive_notification(provider: str, request: RawRequest, *, store: Store,
                         calendars: Calendars, clock: Clock) -> tuple[Reply, bool]:
    """A provider's change notification, read by its push channel: the answer it expects,
    and whether the worker needs waking (only the first request since a sync began does)."""
    push = calendars.providers.get_or_raise(provider).push
    if push is None:
        raise NotFound(f"{provider} sends no change notifications", field="provider")
    reply = push.receive(request, lambda channel_id, token: connection_for_channel(
        store, provider, channel_id, token))
    woken = [request_sync(connection_id, store=store, clock=clock)
             for connection_id in reply.sync]
    return reply, any(woken)


def connection_for_channel(store: Store, provider: str, channel_id: str,
                           token: str) -> int | None:
    """The connection a notification is for, or None when its secret does not match
    (compared in constant time: a forged notification learns nothing from timing)."""
    with store.reading() as session:
        candidates = session.scalars(select(Connection).where(
            Connection.provider == provider, Connection.channel.is_not(None))).all()
    for connection in candidates:
        channel = connection.channel or {}
        if channel.get("id") == channel_id and hmac.compare_digest(
                str(channel.get("token", "")).encode(), token.encode()):
            return connection.id
    return None


# --- syncs asked for by notifications, and by mirrors about to age out -----------------------

def request_mirror_refreshes(*, store: Store, clock: Clock, settings: Settings) -> int:
    """Polling: ask for a sync of every account whose mirror will be too old within a
    minute, so a quiet calendar (or one without push) keeps answering proposals."""
    now = clock.now()
    with store.reading() as session:
        rows = session.execute(select(Connection.id, Connection.busy_mirrored_at,
                                      Connection.channel).where(
            Connection.status == "active", Connection.busy_mirrored_at.is_not(None),
            Connection.sync_requested_at.is_(None))).all()
    due = [connection_id for connection_id, mirrored_at, channel in rows
           if now - mirrored_at >= max_age(channel, now, settings) - POLL_AHEAD]
    for connection_id in due:
        request_sync(connection_id, store=store, clock=clock)
    return len(due)


def request_sync(connection_id: int, *, store: Store, clock: Clock) -> bool:
    """Mark the connection as wanting a sync; True only for the first request since the last
    sync began, so only that one needs to wake the worker."""
    with store.transaction() as session:
        result = session.execute(update(Connection).where(
            Connection.id == connection_id, Connection.status == "active",
            Connection.sync_requested_at.is_(None)).values(sync_requested_at=clock.now())
            .execution_options(synchronize_session=False))
        return result.rowcount == 1


def run_requested_syncs(*, store: Store, calendars: Calendars, clock: Clock) -> list[SyncResult]:
    """One sync per connection that asked. The request is cleared before the sync starts, so
    a notification arriving during it asks again and nothing is missed."""
    with store.reading() as session:
        wanted = session.scalars(select(Connection.id).where(
            Connection.sync_requested_at.is_not(None)).order_by(Connection.id)).all()
    results = []
    for connection_id in wanted:
        with store.transaction() as session:
            session.execute(update(Connection).where(Connection.id == connection_id)
                            .values(sync_requested_at=None)
                            .execution_options(synchronize_session=False))
        try:
            results.append(sync_connection(connection_id, store=store, calendars=calendars,
                                           clock=clock))
        except NeedsReconnect:
            continue
        except ProviderUnavailable as exc:
            logger.warning("sync of connection %s: %s", connection_id, exc.message)
            request_sync(connection_id, store=store, clock=clock)  # try again next round
    return results


def _expiry(channel: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(str(channel["expires_at"]))  # 3.11 reads the Z itself


def connected_counts(store: Store) -> dict[str, int]:
    """How many accounts are connected per provider (what `nextstep serve` reports)."""
    with store.reading() as session:
        rows = session.execute(select(Connection.provider, func.count())
                               .group_by(Connection.provider))
        return {provider: count for provider, count in rows}

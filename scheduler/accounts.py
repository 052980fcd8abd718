"""Reps and their API tokens. Tokens are shown once and stored only as a SHA-256 hash."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import select
from werkzeug.security import check_password_hash, generate_password_hash

from scheduler.availability import WorkingHours
from scheduler.clock import Clock
from scheduler.errors import Conflict, InvalidInput, NotFound
from scheduler.providers.local import LocalCalendar
from scheduler.requests import Email, Name, TimeZone
from scheduler.settings import API_TOKEN_DAYS
from scheduler.store import Store
from scheduler.store.models import ApiToken, Connection, User

TOKEN_PREFIX = "ns_"  # noqa: S105 - a prefix, not a secret
MAX_TOKEN_DAYS = 3650
LAST_USED_STEP = timedelta(minutes=1)


class NewUser(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    email: Email
    name: Name
    timezone: TimeZone = "UTC"
    password: str | None = Field(default=None, min_length=8, max_length=200)


def add_user(email: str, *, name: str | None = None, timezone: str = "UTC",
             password: str | None = None, store: Store, clock: Clock) -> User:
    """Create a rep with Monday–Friday 09:00–17:00 working hours in their own zone."""
    try:
        new = NewUser(email=email, name=name or email.split("@")[0].title(),
                      timezone=timezone, password=password)
    except ValidationError as exc:
        error = exc.errors()[0]
        raise InvalidInput(f"{error['loc'][0]}: {error['msg']}",
                           field=str(error["loc"][0])) from None
    with store.transaction() as session:
        if session.scalar(select(User.id).where(User.email == new.email)) is not None:
            raise Conflict(f"{new.email} already exists", field="email")
        user = User(email=new.email, name=new.name, timezone=new.timezone,
                    password_hash=generate_password_hash(new.password) if new.password else None,
                    working_hours=WorkingHours.office(new.timezone).to_dict(),
                    created_at=clock.now())
        session.add(user)
        session.flush()
        # The built-in calendar is a connection like any other, so sync treats all alike.
        session.add(Connection(user_id=user.id, provider=LocalCalendar.name, account=user.email,
                               status="active", busy_calendars=[user.email],
                               booking_calendar=user.email, created_at=clock.now()))
    return user


def get_user_by_email(store: Store, email: str) -> User | None:
    with store.reading() as session:
        return session.scalar(select(User).where(User.email == email.strip().lower()))


def list_colleagues(store: Store, rep: User) -> list[User]:
    """Everyone the rep can ask for help, by name."""
    with store.reading() as session:
        return list(session.scalars(select(User).where(User.id != rep.id).order_by(User.name)))


def get_user(store: Store, user_id: int) -> User | None:
    with store.reading() as session:
        return session.get(User, user_id)


def set_password(store: Store, email: str, password: str) -> None:
    """A new password also ends every session signed in with the old one."""
    if len(password) < 8:
        raise InvalidInput("the password needs at least 8 characters", field="password")
    with store.transaction() as session:
        user = session.scalar(select(User).where(User.email == email.strip().lower()))
        if user is None:
            raise NotFound(f"no user {email}", field="email")
        user.password_hash = generate_password_hash(password)
        user.session_generation += 1


def end_sessions(store: Store, user_id: int) -> None:
    """Sign the rep out everywhere: every copy of every session cookie stops working."""
    with store.transaction() as session:
        user = session.get(User, user_id)
        if user is not None:
            user.session_generation += 1


def check_password(store: Store, email: str, password: str) -> User | None:
    """One password hash whether or not the email exists, so the answer's timing does not
    tell which emails have an account."""
    user = get_user_by_email(store, email)
    if user is None or not user.password_hash:
        check_password_hash(_UNMATCHABLE_HASH, password)
        return None
    return user if check_password_hash(user.password_hash, password) else None


# generate_password_hash of a random secret, with werkzeug's default method and cost, so a
# check against it costs what checking a real rep's hash does (and nothing matches it).
_UNMATCHABLE_HASH = (
    "scrypt:32768:8:1$P2f0Xq3nR8tLwZ1v$"
    "e0c1f5f1a4b6bb9d0a5c7f3e2d1c0b9a8f7e6d5c4b3a2918273645546372819a"
    "0b1c2d3e4f5061728394a5b6c7d8e9f00112233445566778899aabbccddeeff0")


@dataclass(frozen=True)
class TokenInfo:
    """What may be shown about a token: never the secret, which only its creator saw."""

    id: int
    created_at: datetime
    last_used_at: datetime | None
    expires_at: datetime | None
    revoked_at: datetime | None

    def state(self, now: datetime) -> str:
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= now:
            return "expired"
        return "active"


def create_api_token(store: Store, email: str, *, clock: Clock,
                     days: int = API_TOKEN_DAYS) -> str:
    """A new token for the rep, valid for `days`; the secret is returned once, only its
    hash is kept."""
    if not 1 <= days <= MAX_TOKEN_DAYS:
        raise InvalidInput(f"a token lives 1 to {MAX_TOKEN_DAYS} days, not {days}",
                           field="days")
    user = get_user_by_email(store, email)
    if user is None:
        raise NotFound(f"no user {email}", field="email")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    now = clock.now()
    with store.transaction() as session:
        session.add(ApiToken(user_id=user.id, token_hash=_hash(token), created_at=now,
                             expires_at=now + timedelta(days=days)))
    return token


def list_api_tokens(store: Store, user_id: int) -> list[TokenInfo]:
    with store.reading() as session:
        rows = session.scalars(select(ApiToken).where(ApiToken.user_id == user_id)
                               .order_by(ApiToken.id))
        return [TokenInfo(r.id, r.created_at, r.last_used_at, r.expires_at, r.revoked_at)
                for r in rows]


def revoke_api_tokens(store: Store, user_id: int, *, clock: Clock,
                      token_id: int | None = None) -> int:
    """Revoke one of the rep's tokens (or all, with no id); how many were still live. The
    check is in the database, so every worker refuses a revoked token at its next use."""
    with store.transaction() as session:
        query = select(ApiToken).where(ApiToken.user_id == user_id,
                                       ApiToken.revoked_at.is_(None))
        if token_id is not None:
            query = query.where(ApiToken.id == token_id)
            if session.scalar(select(ApiToken.id).where(ApiToken.user_id == user_id,
                                                        ApiToken.id == token_id)) is None:
                raise NotFound(f"no token {token_id} for this rep", field="id")
        rows = session.scalars(query).all()
        for row in rows:
            row.revoked_at = clock.now()
        return len(rows)


def authenticate_token(store: Store, token: str, *, clock: Clock) -> User | None:
    """The token's rep, unless it is unknown, revoked or expired. Read on every request
    (no per-process cache), so a revocation holds at once on every worker."""
    if not token.startswith(TOKEN_PREFIX):
        return None
    now = clock.now()
    with store.reading() as session:
        row = session.scalar(select(ApiToken).where(ApiToken.token_hash == _hash(token)))
        if row is None or row.revoked_at is not None or (
                row.expires_at is not None and row.expires_at <= now):
            return None
        user, stale = row.user, row.last_used_at is None or now - row.last_used_at > LAST_USED_STEP
    if stale:  # one write a minute at most per token, not one per request
        with store.transaction() as session:
            session.get(ApiToken, row.id).last_used_at = now
    return user


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()

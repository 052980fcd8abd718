"""Reps and their API tokens. Tokens are shown once and stored only as a SHA-256 hash."""

from __future__ import annotations

import hashlib
import secrets

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import select
from werkzeug.security import check_password_hash, generate_password_hash

from scheduler.availability import WorkingHours
from scheduler.clock import Clock
from scheduler.errors import Conflict, InvalidInput, NotFound
from scheduler.requests import Email, Name, TimeZone
from scheduler.store import Store
from scheduler.store.models import ApiToken, Connection, User

TOKEN_PREFIX = "ns_"  # noqa: S105 - a prefix, not a secret


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
        session.add(Connection(user_id=user.id, provider="local", account=user.email,
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
    if len(password) < 8:
        raise InvalidInput("the password needs at least 8 characters", field="password")
    with store.transaction() as session:
        user = session.scalar(select(User).where(User.email == email.strip().lower()))
        if user is None:
            raise NotFound(f"no user {email}", field="email")
        user.password_hash = generate_password_hash(password)


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


def create_api_token(store: Store, email: str, *, clock: Clock) -> str:
    user = get_user_by_email(store, email)
    if user is None:
        raise NotFound(f"no user {email}", field="email")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with store.transaction() as session:
        session.add(ApiToken(user_id=user.id, token_hash=_hash(token), created_at=clock.now()))
    return token


def authenticate_token(store: Store, token: str) -> User | None:
    if not token.startswith(TOKEN_PREFIX):
        return None
    with store.reading() as session:
        row = session.scalar(select(ApiToken).where(ApiToken.token_hash == _hash(token)))
        return None if row is None else row.user


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()

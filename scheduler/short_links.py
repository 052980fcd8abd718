"""Links a person can paste: a short random id (12 characters) looked up on the server
stands for the long signed token, so an offer or follow-up link fits in a chat line. The
expiry is kept here; the offer's single use stays on the offer. Long links keep working."""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from scheduler.errors import BadToken, OfferExpired
from scheduler.store import Store
from scheduler.store.models import ShortLink

KINDS = ("offer", "followup")
ID_BYTES = 9  # 12 URL-safe characters, 72 random bits


def is_short(token: str) -> bool:
    """Signed tokens always carry dots; a short id never does."""
    return "." not in token and len(token) <= 24


def shorten(store: Store, *, kind: str, target_id: str, token: str, expires_at: datetime,
            now: datetime) -> str:
    """The short id for this target, reusing a live one (an invite resent, a page reloaded)."""
    with store.transaction() as session:
        return shorten_in(session, kind=kind, target_id=target_id, token=token,
                          expires_at=expires_at, now=now)


def shorten_in(session: Session, *, kind: str, target_id: str, token: str,
               expires_at: datetime, now: datetime) -> str:
    """`shorten` inside the caller's transaction, for a link made with what it points to."""
    if kind not in KINDS:
        raise ValueError(f"unknown link kind {kind!r}")
    existing = session.scalar(select(ShortLink).where(
        ShortLink.kind == kind, ShortLink.target_id == target_id,
        ShortLink.expires_at > now).order_by(ShortLink.created_at.desc()).limit(1))
    if existing is not None:
        return existing.id
    link = ShortLink(id=secrets.token_urlsafe(ID_BYTES), kind=kind, target_id=target_id,
                     token=token, expires_at=expires_at, created_at=now)
    session.add(link)
    return link.id


def expand(store: Store, token: str, *, kind: str, now: datetime) -> str:
    """The signed token a short id stands for; a long token is returned as it is."""
    if not is_short(token):
        return token
    with store.reading() as session:
        link = session.get(ShortLink, token)
    if link is None or link.kind != kind:
        raise BadToken("this link is not valid", field="token")
    if link.expires_at <= now:
        raise OfferExpired("this link has expired; ask for a new one", field="token")
    return link.token

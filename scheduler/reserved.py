"""What counts as reserved time: a person's active reservations, of a live follow-up or of
a hold that has neither expired nor been released. One rule, read by the booking checks
(scheduler.reservations) and by the busy mirror (scheduler.mirror)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Select, and_, or_, select

from scheduler.availability import Interval
from scheduler.store.models import Hold, Reservation


def reserved_time(user_ids: Sequence[int], window: Interval, *, now: datetime) -> Select:
    """Rows (user id, start, end, the hold's expiry or None) of reserved time in `window`."""
    return (select(Reservation.user_id, Reservation.start, Reservation.end, Hold.expires_at)
            .outerjoin(Hold, Reservation.hold_id == Hold.id)
            .where(Reservation.user_id.in_(list(user_ids)), Reservation.active,
                   Reservation.start < window.end, Reservation.end > window.start,
                   or_(Reservation.hold_id.is_(None),
                       and_(Hold.expires_at > now, Hold.released_at.is_(None)))))

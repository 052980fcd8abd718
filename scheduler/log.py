"""The log: append-only entries of what happened, export as CSV/JSONL, and the CRM webhook."""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import requests
from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.orm import Session

from scheduler.access import SYSTEM, Viewer, visible
from scheduler.clock import Clock, iso_utc
from scheduler.errors import InvalidInput, ProviderRejected, ProviderUnavailable
from scheduler.store import Store
from scheduler.store.models import FollowUp, LogEntry, Offer, Prospect, WebhookDelivery

KINDS = (
    "followup.booked", "followup.rescheduled", "followup.cancelled", "followup.done",
    "offer.sent", "offer.accepted", "offer.withdrawn", "offer.expired",
    "attendee.declined", "attendee.accepted", "step.done", "step.stalled",
    "call.no_next_step", "calendar.write_failed", "connection.needs_reconnect",
    "connection.connected", "connection.disconnected", "plan.amended",
)

# Stable export columns: add at the end, never reorder (CRMs parse by position too).
EXPORT_COLUMNS = ("id", "at", "kind", "rep_id", "followup_id", "data")
# After them, the same entry in words (filled by the caller, who knows the rep's zone).
READABLE_COLUMNS = ("prospect_name", "prospect_email", "meeting_start_utc",
                    "meeting_start_local", "steps")


@dataclass(frozen=True)
class LogRecord:
    id: int
    at: datetime
    kind: str
    rep_id: int | None
    followup_id: str | None
    data: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "at": iso_utc(self.at),
                "kind": self.kind, "rep_id": self.rep_id, "followup_id": self.followup_id,
                "data": self.data}


def append(session: Session, kind: str, *, at: datetime, rep_id: int | None = None,
           followup_id: str | None = None, **data: Any) -> LogEntry:
    """Add an entry inside the caller's transaction, so the record and the change it
    describes commit together."""
    if kind not in KINDS:
        raise ValueError(f"unknown log kind {kind!r}")
    entry = LogEntry(at=at, kind=kind, rep_id=rep_id, followup_id=followup_id, data=data)
    session.add(entry)
    return entry


def read_entries(store: Store, *, viewer: Viewer = SYSTEM, kind: str | None = None,
                 since: datetime | None = None, until: datetime | None = None,
                 prospect: str | None = None, followup_ids: Iterable[str] | None = None,
                 after_id: int = 0, limit: int | None = None, newest_first: bool = False,
                 batch: int = 1000) -> Iterator[LogRecord]:
    """The one reader of the log, for the API's pages, every export, the page and the CRM
    push: entries matching every filter given, oldest first by id (cursor paging by
    `after_id`) or newest first (the page), at most `limit`, all when None. Read in batches,
    each in its own short read, so an export of any size holds neither a transaction open
    nor the log in memory."""
    if limit is not None and limit < 1:
        raise InvalidInput("limit must be at least 1", field="limit")
    query = select(LogEntry).where(visible(LogEntry.rep_id, viewer))
    if kind:
        query = query.where(LogEntry.kind == kind)
    if since is not None:
        query = query.where(LogEntry.at >= since)
    if until is not None:
        query = query.where(LogEntry.at < until)
    if prospect:
        query = query.where(about_prospect(prospect))
    if followup_ids is not None:
        query = query.where(LogEntry.followup_id.in_(list(followup_ids)))
    return _batches(store, query, after_id=after_id, limit=limit, newest_first=newest_first,
                    batch=batch)


def moved_from(store: Store, followup_id: str) -> datetime | None:
    """Where the meeting was before its latest move (None if never moved), so a page can
    say "moved from … to …"."""
    latest = next(read_entries(store, followup_ids=[followup_id], kind="followup.rescheduled",
                               newest_first=True, limit=1), None)
    previous = latest.data.get("previous_start") if latest is not None else None
    return datetime.fromisoformat(previous.replace("Z", "+00:00")) if previous else None


def _batches(store: Store, query, *, after_id: int, limit: int | None, newest_first: bool,
             batch: int) -> Iterator[LogRecord]:
    position = None if newest_first else after_id
    remaining = limit
    while remaining is None or remaining > 0:
        size = batch if remaining is None else min(batch, remaining)
        if newest_first:
            page_query = query.order_by(LogEntry.id.desc())
            if position is not None:
                page_query = page_query.where(LogEntry.id < position)
        else:
            page_query = query.where(LogEntry.id > position).order_by(LogEntry.id)
        with store.reading() as session:
            page = [_record(entry) for entry in session.scalars(page_query.limit(size))]
        yield from page
        if len(page) < size:
            return
        position = page[-1].id
        if remaining is not None:
            remaining -= len(page)


def export_csv(records: Iterable[LogRecord],
               readable: Callable[[LogRecord], Sequence[str]] | None = None) -> Iterator[str]:
    """CSV lines with a header; `data` as compact JSON so every kind fits one layout.
    With `readable`, the READABLE_COLUMNS follow, so parsers by position keep working."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(EXPORT_COLUMNS + (READABLE_COLUMNS if readable else ()))
    for record in records:
        row = record.as_dict()
        row["data"] = json.dumps(record.data, sort_keys=True, separators=(",", ":"))
        cells = ["" if row[column] is None else row[column] for column in EXPORT_COLUMNS]
        writer.writerow(cells + list(readable(record)) if readable else cells)
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    yield buffer.getvalue()


def export_jsonl(records: Iterable[LogRecord]) -> Iterator[str]:
    for record in records:
        yield json.dumps(record.as_dict(), sort_keys=True) + "\n"


def push_to_crm(store: Store, *, url: str, secret: str | None, clock: Clock,
                limit: int = 500) -> int:
    """Deliver entries not yet delivered, in log order, stopping at the first failure so the
    CRM never sees a gap. Returns how many were delivered."""
    with store.reading() as session:
        last = session.scalar(select(func.max(WebhookDelivery.log_id))) or 0
    pending = list(read_entries(store, after_id=last, limit=limit))
    for record in pending:
        deliver_webhook(record, url=url, secret=secret)
        with store.transaction() as session:
            session.add(WebhookDelivery(log_id=record.id, delivered_at=clock.now()))
    return len(pending)


def deliver_webhook(record: LogRecord, *, url: str, secret: str | None,
                    timeout: float = 10.0) -> None:
    """POST one entry to the CRM, signed with HMAC-SHA256 so the receiver can trust it."""
    body = json.dumps(record.as_dict(), sort_keys=True).encode()
    headers = {"Content-Type": "application/json", "X-Nextstep-Delivery": str(record.id)}
    if secret:
        digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        headers["X-Nextstep-Signature"] = f"sha256={digest}"
    try:
        response = requests.post(url, data=body, headers=headers, timeout=timeout)
    except requests.RequestException as exc:
        raise ProviderUnavailable(f"CRM webhook unreachable: {exc}") from exc
    if response.status_code >= 500 or response.status_code == 429:
        raise ProviderUnavailable(f"CRM webhook answered {response.status_code}")
    if response.status_code >= 400:
        raise ProviderRejected(f"CRM webhook refused the entry: {response.status_code}")


def _record(entry: LogEntry) -> LogRecord:
    return LogRecord(id=entry.id, at=entry.at, kind=entry.kind, rep_id=entry.rep_id,
                     followup_id=entry.followup_id, data=dict(entry.data or {}))


def prospect_matches(text: str) -> ColumnElement[bool]:
    """Prospects whose email or name contains `text` in any case; `%` and `_` are literal."""
    return or_(Prospect.email.icontains(text, autoescape=True),
               Prospect.name.icontains(text, autoescape=True))


def about_prospect(text: str) -> ColumnElement[bool]:
    """Entries about a matching prospect: through their follow-up or offer, or the
    `prospect` the entry names (a call with no next step has neither)."""
    matching = select(Prospect.id).where(prospect_matches(text))
    named = LogEntry.data["prospect"].as_string()
    return or_(LogEntry.followup_id.in_(select(FollowUp.id)
                                        .where(FollowUp.prospect_id.in_(matching))),
               LogEntry.data["offer_id"].as_string().in_(
                   select(Offer.id).where(Offer.prospect_id.in_(matching))),
               named.in_(select(Prospect.email).where(prospect_matches(text))),
               named.icontains(text, autoescape=True))

"""Google Calendar through google-api-python-client, with google-auth keeping the token fresh.

Choices worth knowing:
- Retries live in one place (`_execute`): 429, 403 rateLimitExceeded/userRateLimitExceeded,
  5xx, timeouts and dropped connections back off with full jitter, or wait what Retry-After
  says; `max_attempts` bounds them, then ProviderUnavailable carries the last wait as
  `retry_after`. Other 4xx fail at once as ProviderRejected. The client library's own
  `num_retries` is not used: it ignores Retry-After.
- Retrying writes is safe: inserts carry the event's uid as Google's event `id`, so a repeat
  answers 409 duplicate and the event it names is ours; patches carry If-Match, and a 412 (the
  event changed since we read it, or our own lost write landed) re-reads and re-applies once;
  a delete answering 404/410 finds the event already gone.
- A new event asks for a Meet (`conferenceData.createRequest`, `conferenceDataVersion=1`) with
  the event id as `requestId`, so a retried insert cannot make a second meeting; the link is
  read from the conference's video entry point. Patches leave the conference alone.
- Busy time: one freeBusy for everyone, split only past 50 calendars or 90 days; calendars
  Google cannot read come back in `errors`, never silently free.
- Sync: events.list with showDeleted and singleEvents; the cursor is the nextSyncToken of a
  round's last page, so a round that fails halfway keeps the old cursor. 410 starts one full
  round, reported with `full_resync=True`.
- Google cuts extended property values at 1024 characters without a word, so longer values
  (the plan) are stored in numbered parts: `key`, `key.1`, ...
- When google-auth refreshes the access token, `on_token_refreshed` gets the new token dict
  (encrypt it before storing). Once the grant is gone (invalid_grant), the instance raises
  NeedsReconnect for every call without touching the network.
- The endpoint must end in "/": the client joins method paths onto it like a URL. Transport is
  httplib2 (not thread-safe: one instance per thread); HTTPS trust follows REQUESTS_CA_BUNDLE.
"""

from __future__ import annotations

import http.client
import json
import os
import random
import time
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from contextlib import suppress
from datetime import UTC, date, datetime, timedelta
from enum import Enum
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

import google_auth_httplib2
import httplib2
from google.auth.exceptions import RefreshError, TransportError
from google.oauth2.credentials import Credentials
from googleapiclient.discovery import build
from googleapiclient.errors import HttpError
from googleapiclient.http import HttpRequest

from scheduler.availability import Interval
from scheduler.errors import ConfigError, NeedsReconnect, ProviderRejected, ProviderUnavailable
from scheduler.providers.base import (
    FOLLOWUP_ID_PROPERTY,
    Attendee,
    BusyResult,
    CalendarEvent,
    CalendarInfo,
    ChangeSet,
    EventChange,
    EventRef,
    Limits,
    ProviderDescription,
    chunks,
    pieces,
)
from scheduler.providers.google_oauth import GoogleOAuth
from scheduler.providers.google_push import GoogleWatch
from scheduler.providers.retry import gives_up, next_wait, retry_after_seconds
from scheduler.settings import Settings


class Verdict(Enum):
    """What a failed Google answer means for us."""

    RETRY = "retry"  # throttled or failed on their side: wait, then again
    RECONNECT = "reconnect"  # the token is refused even after a refresh: the grant is gone
    REJECT = "reject"  # a request Google will never accept


# Google's quirks as data. Error reasons are looked up before statuses; any other status
# under 500 is final.
VERDICTS: dict[int | str, Verdict] = {
    429: Verdict.RETRY, 500: Verdict.RETRY, 502: Verdict.RETRY, 503: Verdict.RETRY,
    504: Verdict.RETRY,
    "rateLimitExceeded": Verdict.RETRY, "userRateLimitExceeded": Verdict.RETRY,  # as 403s
    401: Verdict.RECONNECT,
}
TRANSPORT_ERRORS = (OSError, httplib2.HttpLib2Error, http.client.HTTPException,
                    TransportError)  # timeouts, refused and dropped connections
ALREADY_GONE = frozenset({404, 410})
DUPLICATE, PRECONDITION_FAILED, SYNC_TOKEN_GONE = 409, 412, 410
FREEBUSY_CALENDARS = 50
FREEBUSY_SPAN = timedelta(days=90)
PROPERTY_VALUE_MAX, PROPERTY_PARTS_MAX = 1024, 8
MEET = "hangoutsMeet"  # conferenceSolutionKey.type of Google Meet


class _Answered(Exception):
    """A failure status the caller asked to handle itself."""


class GoogleCalendar:
    name: ClassVar[str] = "google"

    def __init__(self, *, token: Mapping[str, str | None], settings: Settings,
                 on_token_refreshed: Callable[[dict], None] | None = None,
                 sleep: Callable[[float], None] = time.sleep, max_attempts: int = 5,
                 timeout: float = 10.0, page_size: int = 250) -> None:
        if not settings.google_client_id or not settings.google_client_secret:
            raise ConfigError("NEXTSTEP_GOOGLE_CLIENT_ID and NEXTSTEP_GOOGLE_CLIENT_SECRET must "
                              "be set to use Google Calendar", field="google_client_id")
        self._token = dict(token)
        self._credentials = Credentials(
            token=token.get("access_token"), refresh_token=token.get("refresh_token"),
            token_uri=settings.google_token_uri, client_id=settings.google_client_id,
            client_secret=settings.google_client_secret, expiry=_naive_utc(token.get("expiry")))
        self._known_access_token = self._credentials.token
        transport = httplib2.Http(timeout=timeout, ca_certs=os.environ.get("REQUESTS_CA_BUNDLE"))
        self._service = build(
            "calendar", "v3", static_discovery=True,
            http=google_auth_httplib2.AuthorizedHttp(self._credentials, http=transport),
            client_options={"api_endpoint": settings.google_api_endpoint.rstrip("/") + "/"})
        self._on_token_refreshed = on_token_refreshed
        self._sleep, self._max_attempts, self._page_size = sleep, max_attempts, page_size
        self._random = random.Random()
        self._lost_grant: str | None = None

    # --- CalendarProvider --------------------------------------------------------------------

    def busy(self, calendar_ids: Sequence[str], window: Interval) -> BusyResult:
        ids = list(dict.fromkeys(calendar_ids))
        found: dict[str, list[Interval]] = {cid: [] for cid in ids}
        errors: dict[str, str] = {}
        for chunk in chunks(ids, FREEBUSY_CALENDARS):
            for piece in pieces(window, FREEBUSY_SPAN):
                answer = self._execute(self._service.freebusy().query(body={
                    "timeMin": _rfc3339(piece.start), "timeMax": _rfc3339(piece.end),
                    "timeZone": "UTC", "items": [{"id": cid} for cid in chunk]}))
                calendars = {key.lower(): value
                             for key, value in answer.get("calendars", {}).items()}
                for cid in chunk:
                    data = calendars.get(cid.lower())
                    if data is None or data.get("errors"):
                        errors[cid] = ", ".join(e.get("reason", "error") for e in data["errors"]
                                                ) if data else "missing from Google's answer"
                        continue
                    found[cid].extend(_clipped(data.get("busy", []), piece))
        return BusyResult(busy={cid: _joined(spans) for cid, spans in found.items()
                                if cid not in errors}, errors=errors)

    def create_event(self, event: CalendarEvent) -> EventRef:
        events = self._service.events()
        try:
            data = self._execute(events.insert(
                calendarId=event.calendar_id, sendUpdates="all",
                **({"conferenceDataVersion": 1} if event.conference else {}),
                body={"id": event.uid, **_event_body(event, clear_parts=False),
                      **_conference_request(event)}),
                allow={DUPLICATE})
        except _Answered:  # the uid exists: an earlier attempt made it, perhaps unanswered
            data = self._execute(events.get(calendarId=event.calendar_id, eventId=event.uid))
        return self._ref(event.calendar_id, data)

    def update_event(self, ref: EventRef, event: CalendarEvent) -> EventRef:
        events, etag = self._service.events(), ref.etag
        body = _event_body(event, clear_parts=True)
        for _ in range(2):
            request = events.patch(calendarId=ref.calendar_id, eventId=ref.event_id,
                                   sendUpdates="all", body=body)
            if etag:
                request.headers["If-Match"] = etag
            try:
                return self._ref(ref.calendar_id,
                                 self._execute(request, allow={PRECONDITION_FAILED}))
            except _Answered:  # changed since we read it: read it again, apply ours on top
                etag = self._execute(events.get(calendarId=ref.calendar_id,
                                                eventId=ref.event_id))["etag"]
        raise ProviderUnavailable("the Google event kept changing while it was being updated")

    def cancel_event(self, ref: EventRef) -> None:
        with suppress(_Answered):  # already gone is what we wanted
            self._execute(self._service.events().delete(
                calendarId=ref.calendar_id, eventId=ref.event_id, sendUpdates="all"),
                allow=ALREADY_GONE)

    def changes(self, calendar_id: str, cursor: str | None) -> ChangeSet:
        if cursor is not None:
            try:
                return self._sync_round(calendar_id, cursor)
            except _Answered:  # 410: the sync token expired; read everything once
                return self._sync_round(calendar_id, None, full_resync=True)
        return self._sync_round(calendar_id, None)

    def list_calendars(self) -> list[CalendarInfo]:
        """calendarList.list, every page (needs the calendar.calendarlist.readonly scope)."""
        found: list[CalendarInfo] = []
        page_token: str | None = None
        while True:
            page = self._execute(self._service.calendarList().list(
                pageToken=page_token, maxResults=self._page_size))
            found.extend(CalendarInfo(
                id=item["id"], name=item.get("summaryOverride") or item.get("summary")
                or item["id"], primary=bool(item.get("primary")),
                can_write=item.get("accessRole") in ("owner", "writer"))
                for item in page.get("items", []))
            page_token = page.get("nextPageToken")
            if not page_token:
                return sorted(found, key=lambda c: not c.primary)

    # --- push notifications ------------------------------------------------------------------

    def watch(self, calendar_id: str, *, address: str, channel_token: str, channel_id: str,
              ttl_seconds: int) -> dict[str, Any]:
        """Ask Google to POST to `address` (HTTPS) when the calendar's events change; the
        notification only says "something changed": it triggers a sync."""
        data = self._execute(self._service.events().watch(calendarId=calendar_id, body={
            "id": channel_id, "type": "web_hook", "address": address, "token": channel_token,
            "params": {"ttl": str(int(ttl_seconds))}}))
        return {"id": data["id"], "resource_id": data["resourceId"],
                "expiration": datetime.fromtimestamp(int(data["expiration"]) / 1000, UTC)}

    def stop_watch(self, channel_id: str, resource_id: str) -> None:
        with suppress(_Answered):  # an expired or unknown channel is already stopped
            self._execute(self._service.channels().stop(
                body={"id": channel_id, "resourceId": resource_id}), allow={404})

    # --- sync rounds ---------------------------------------------------------------------------

    def _sync_round(self, calendar_id: str, sync_token: str | None, *,
                    full_resync: bool = False) -> ChangeSet:
        """Every page of one round; items keyed by id, so a replayed page changes nothing."""
        events = self._service.events()
        items: dict[str, tuple[dict[str, Any], str]] = {}  # id -> (event, calendar's zone)
        page_token: str | None = None
        while True:
            page = self._execute(events.list(
                calendarId=calendar_id, syncToken=sync_token, pageToken=page_token,
                showDeleted=True, singleEvents=True, maxResults=self._page_size),
                allow={SYNC_TOKEN_GONE} if sync_token else ())
            zone = page.get("timeZone") or "UTC"
            items.update((item["id"], (item, zone)) for item in page.get("items", []))
            if page.get("nextPageToken"):
                page_token = page["nextPageToken"]
            elif page.get("nextSyncToken"):
                return ChangeSet([self._change(calendar_id, item, zone)
                                  for item, zone in items.values()],
                                 cursor=page["nextSyncToken"], full_resync=full_resync)
            else:
                raise ProviderUnavailable("Google ended a sync page without a next token")

    # --- the one way to Google -----------------------------------------------------------------

    def _execute(self, request: HttpRequest, *, allow: Collection[int] = ()) -> Any:
        """The request, retried as Google's answers say; statuses in `allow` come back to the
        caller as _Answered, other failures raise domain errors."""
        if self._lost_grant:
            raise NeedsReconnect(self._lost_grant, field="connection")
        what, wait, problem = request.methodId, 0.0, "no answer"
        for attempt in range(1, self._max_attempts + 1):
            retry_after = None
            try:
                return request.execute()
            except HttpError as exc:
                status, reasons, message = _error(exc)
                if status in allow:
                    raise _Answered(status) from None
                verdict = next((VERDICTS[r] for r in reasons if r in VERDICTS), None) \
                    or VERDICTS.get(status, Verdict.RETRY if status >= 500 else Verdict.REJECT)
                problem = " ".join(filter(None, (str(status), ",".join(reasons), message)))
                if verdict is Verdict.RECONNECT:
                    raise self._disconnect(problem) from None
                if verdict is Verdict.REJECT:
                    raise ProviderRejected(f"Google refused {what}: {problem}",
                                           field="calendar") from None
                retry_after = _retry_after(exc.resp)
            except RefreshError as exc:
                if _grant_gone(exc) or not self._credentials.refresh_token:
                    raise self._disconnect(_refresh_problem(exc)) from None
                if not exc.retryable:
                    raise ProviderRejected(f"Google refused the token refresh: {exc}",
                                           field="connection") from None
                problem = str(exc)
            except TRANSPORT_ERRORS as exc:
                problem = f"{type(exc).__name__}: {exc}"
            finally:
                self._report_refresh()
            wait = next_wait(attempt, retry_after=retry_after, rng=self._random)
            if gives_up(attempt, max_attempts=self._max_attempts, wait=wait):
                break
            self._sleep(wait)
        raise ProviderUnavailable(f"Google did not complete {what}: {problem}", retry_after=wait)

    def _disconnect(self, reason: str) -> NeedsReconnect:
        """Remember that the grant is gone: no further call from this instance goes out."""
        self._lost_grant = message = (f"the Google connection needs to be connected again "
                                      f"(Google says: {reason})")
        return NeedsReconnect(message, field="connection")

    def _report_refresh(self) -> None:
        if self._credentials.token == self._known_access_token:
            return
        self._known_access_token = self._credentials.token
        if self._on_token_refreshed is not None:
            self._on_token_refreshed(self._current_token())

    def _current_token(self) -> dict[str, Any]:
        """The token as it stands now, in the shape the constructor takes (keys the caller
        stored alongside it kept)."""
        expiry = self._credentials.expiry
        return {**self._token, "access_token": self._credentials.token,
                "refresh_token": self._credentials.refresh_token,
                "expiry": expiry.replace(tzinfo=UTC).isoformat() if expiry else None}

    # --- mapping -------------------------------------------------------------------------------

    def _ref(self, calendar_id: str, data: dict[str, Any]) -> EventRef:
        return EventRef(provider=self.name, calendar_id=calendar_id, event_id=data["id"],
                        etag=data.get("etag"), video_link=_meet_link(data),
                        video_pending=_meet_pending(data))

    def _change(self, calendar_id: str, item: dict[str, Any], zone: str) -> EventChange:
        ref = self._ref(calendar_id, item)
        followup_id = ((item.get("extendedProperties") or {}).get("private")
                       or {}).get(FOLLOWUP_ID_PROPERTY)
        if item.get("status") == "cancelled":  # deleted events carry little but their id
            return EventChange(ref=ref, status="cancelled", followup_id=followup_id)
        return EventChange(
            ref=ref, status=item.get("status", "confirmed"), followup_id=followup_id,
            start=_instant(item["start"], zone), end=_instant(item["end"], zone),
            attendees=tuple(Attendee(email=a.get("email", ""), name=a.get("displayName", ""),
                                     optional=bool(a.get("optional")),
                                     response=a.get("responseStatus", "needsAction"))
                            for a in item.get("attendees", [])))


def _error(exc: HttpError) -> tuple[int, list[str], str]:
    """(status, reasons, message) of Google's error JSON, whatever of it is there."""
    try:
        error = json.loads(exc.content.decode()).get("error", {})
    except (ValueError, AttributeError, UnicodeDecodeError):
        error = {}
    error = error if isinstance(error, dict) else {}
    reasons = [e.get("reason", "") for e in error.get("errors", []) if isinstance(e, dict)]
    return exc.status_code, [r for r in reasons if r], str(error.get("message", ""))


def _refresh_problem(exc: RefreshError) -> str:
    """google-auth's RefreshError carries (text, response JSON); the text is what to show."""
    return str(exc.args[0]) if exc.args else str(exc)


def _grant_gone(exc: RefreshError) -> bool:
    data = exc.args[1] if len(exc.args) > 1 and isinstance(exc.args[1], dict) else {}
    return data.get("error") == "invalid_grant"


def _retry_after(response: Mapping[str, str]) -> float | None:
    """Google sends delay-seconds; httplib2 names its headers in lower case."""
    return retry_after_seconds(response.get("retry-after"))


def _naive_utc(value: str | None) -> datetime | None:
    """google-auth compares expiry with a naive UTC clock."""
    if not value:
        return None
    moment = datetime.fromisoformat(value)
    return (moment.astimezone(UTC) if moment.tzinfo else moment).replace(tzinfo=None)


def _rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _instant(value: Mapping[str, str], zone: str) -> datetime:
    """An EventDateTime as UTC; an all-day date starts at midnight in the calendar's zone."""
    if "dateTime" in value:
        moment = datetime.fromisoformat(value["dateTime"])
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=ZoneInfo(value.get("timeZone") or zone))
        return moment.astimezone(UTC)
    day = date.fromisoformat(value["date"])
    return datetime(day.year, day.month, day.day, tzinfo=ZoneInfo(zone)).astimezone(UTC)


def _clipped(busy: list[dict[str, str]], piece: Interval) -> Iterator[Interval]:
    for span in busy:
        start = max(datetime.fromisoformat(span["start"]).astimezone(UTC), piece.start)
        end = min(datetime.fromisoformat(span["end"]).astimezone(UTC), piece.end)
        if start < end:
            yield Interval(start, end)


def _joined(spans: list[Interval]) -> list[Interval]:
    """Sorted, with spans that touch at a chunk boundary made whole again."""
    joined: list[Interval] = []
    for span in sorted(spans):
        if joined and span.start <= joined[-1].end:
            if span.end > joined[-1].end:
                joined[-1] = Interval(joined[-1].start, span.end)
        else:
            joined.append(span)
    return joined


def _event_body(event: CalendarEvent, *, clear_parts: bool) -> dict[str, Any]:
    zone = ZoneInfo(event.timezone)
    organizer = event.organizer.email.lower()
    return {
        "summary": event.title, "description": event.description,
        "start": {"dateTime": event.start.astimezone(zone).isoformat(timespec="seconds"),
                  "timeZone": event.timezone},
        "end": {"dateTime": event.end.astimezone(zone).isoformat(timespec="seconds"),
                "timeZone": event.timezone},
        "attendees": [{"email": a.email, **({"displayName": a.name} if a.name else {}),
                       **({"optional": True} if a.optional else {})}
                      for a in event.attendees if a.email.lower() != organizer],
        **({"location": event.location} if event.location else {}),
        "extendedProperties": {"private": _split_properties(event.properties,
                                                            clear_parts=clear_parts)}}


def _conference_request(event: CalendarEvent) -> dict[str, Any]:
    """A Meet for the event, asked with the event's own id as `requestId`: Google ignores a
    request id it has seen, so a retried insert never makes a second meeting."""
    if not event.conference:
        return {}
    return {"conferenceData": {"createRequest": {
        "requestId": event.uid, "conferenceSolutionKey": {"type": MEET}}}}


def _meet_link(data: Mapping[str, Any]) -> str | None:
    """The video entry point of the event's conference (`hangoutLink` is Meet's own copy);
    None while Google is still making it (createRequest status `pending`) or made none."""
    for entry in (data.get("conferenceData") or {}).get("entryPoints") or ():
        if entry.get("entryPointType") == "video" and entry.get("uri"):
            return entry["uri"]
    return data.get("hangoutLink")


def _meet_pending(data: Mapping[str, Any]) -> bool:
    """Google answered the conference request `pending`: the Meet is on its way, and comes
    as a change to the event (developers.google.com/calendar/api/v3/reference/events,
    conferenceData.createRequest.status.statusCode)."""
    request = (data.get("conferenceData") or {}).get("createRequest") or {}
    return (request.get("status") or {}).get("statusCode") == "pending"


def _split_properties(properties: Mapping[str, str], *,
                      clear_parts: bool) -> dict[str, str | None]:
    """Values in parts of at most 1024 characters; with `clear_parts` (a patch, which merges
    properties) the parts a shorter value no longer needs are deleted with null."""
    split: dict[str, str | None] = {}
    for key, value in properties.items():
        parts = [value[i:i + PROPERTY_VALUE_MAX]
                 for i in range(0, len(value), PROPERTY_VALUE_MAX)] or [""]
        if len(parts) > PROPERTY_PARTS_MAX:
            raise ProviderRejected(f"event property {key} is too long for Google Calendar",
                                   field="properties")
        split[key] = parts[0]
        for number in range(1, PROPERTY_PARTS_MAX if clear_parts else len(parts)):
            split[f"{key}.{number}"] = parts[number] if number < len(parts) else None
    return split



def _build(credentials: dict[str, Any], settings: Settings,
           save: Callable[[dict[str, Any]], None], http: object) -> GoogleCalendar:
    return GoogleCalendar(token=credentials, settings=settings,
                          on_token_refreshed=lambda fresh: save({**credentials, **fresh}))


DESCRIPTION = ProviderDescription(
    name=GoogleCalendar.name, label="Google Calendar", sends_own_invites=True,  # sendUpdates
    reads_colleagues=True, build=_build, oauth=GoogleOAuth(), push=GoogleWatch(),
    limits=Limits(busy_calendars=FREEBUSY_CALENDARS), video_meetings="Google Meet")

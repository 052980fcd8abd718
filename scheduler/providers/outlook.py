"""Outlook calendars through Microsoft Graph; tokens through msal (outlook_oauth.py).

Choices worth knowing:
- Retries live in one place (`_send`): 429/503/504 wait what Retry-After says; other 5xx,
  timeouts and dropped connections back off with full jitter; `max_attempts` bounds both, then
  ProviderUnavailable carries the last wait as `retry_after`. Other 4xx fail at once as
  ProviderRejected. Retrying a create is safe: it carries `transactionId` = the event's uid, and
  Graph answers a repeated transactionId with the event it already made.
- Busy time: one getSchedule for everyone, split only past 20 people or 62 days. Personal
  accounts have no getSchedule (and a work account may be denied it): then the signed-in user's
  own calendarView is read and everyone else is named in `errors`.
- Writes and sync go to the signed-in user's default calendar, which `calendar_id` names.
- Cancel: POST /events/{id}/cancel, so attendees get a cancellation with our comment (organizer
  only); when Graph refuses that, DELETE, which also tells attendees. 404 means already gone.
- Sync: calendarView/delta takes only startDateTime/endDateTime on a round's first call and
  the opaque next/delta links after (Graph refuses $expand, $filter, $orderby, $search, $select
  and $top there; page size goes in Prefer). So a delta item never carries our extended
  properties: changes come without `followup_id`, and sync recognises our events by the event
  ids it stored when booking, with no extra call per event. The window (SYNC_WINDOW around
  now) is fixed inside Graph's tokens until the next full round. The deltaLink is only taken
  from a round's last page, so a round that fails halfway keeps the old cursor; items are keyed
  by id, so a replayed page changes nothing. A 410 or syncStateNotFound starts one full round,
  reported with `full_resync=True`.
- Each call sends only the Prefer preferences its documentation page lists.
- Tokens come from GraphTokens (outlook_oauth.py) before every call; once the grant is gone
  the instance raises NeedsReconnect for every call without touching the network.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Collection, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from enum import Enum
from typing import Any, ClassVar
from urllib.parse import quote, urlencode
from zoneinfo import ZoneInfo

import requests

from scheduler.availability import Interval
from scheduler.clock import Clock, SystemClock
from scheduler.errors import ProviderRejected, ProviderUnavailable
from scheduler.providers.base import (
    FOLLOWUP_ID_PROPERTY,
    PLAN_PROPERTY,
    Attendee,
    BusyResult,
    CalendarEvent,
    CalendarInfo,
    ChangeSet,
    EventChange,
    EventRef,
    ProviderDescription,
    chunks,
    pieces,
)
from scheduler.providers.outlook_oauth import CONSUMER_TENANT, GraphTokens, MicrosoftOAuth
from scheduler.providers.outlook_push import GraphSubscriptions
from scheduler.providers.retry import gives_up, next_wait, retry_after_seconds
from scheduler.settings import Settings

# Our own property set: machine-readable event properties live under this GUID.
PROPERTY_SET = "{7c4f2a9e-3b1d-4e6a-9f08-2d5c6b8a1e34}"


def property_id(name: str) -> str:
    return f"String {PROPERTY_SET} Name {name}"


FOLLOWUP_ID_PROPERTY_ID = property_id(FOLLOWUP_ID_PROPERTY)
PLAN_PROPERTY_ID = property_id(PLAN_PROPERTY)


class Outcome(Enum):
    """What a Graph answer means for us."""

    WAIT = "wait"  # throttled or unavailable: wait Retry-After, then again
    BACKOFF = "backoff"  # failed on their side: back off, then again
    REAUTHORIZE = "reauthorize"  # the token was refused: refresh once
    RESYNC = "resync"  # the sync state is gone: start a full round
    GONE = "gone"  # no such item
    DENIED = "denied"  # not allowed for this account
    REJECTED = "rejected"  # a request Graph will never accept


# Graph's quirks as data. Error codes are looked up before statuses.
OUTCOMES: dict[int | str, Outcome] = {
    429: Outcome.WAIT, 503: Outcome.WAIT, 504: Outcome.WAIT,
    401: Outcome.REAUTHORIZE,
    410: Outcome.RESYNC, "syncstatenotfound": Outcome.RESYNC,
    "resyncrequired": Outcome.RESYNC, "syncstateinvalid": Outcome.RESYNC,
    404: Outcome.GONE, "erroritemnotfound": Outcome.GONE,
    403: Outcome.DENIED, "erroraccessdenied": Outcome.DENIED,
    409: Outcome.BACKOFF, "errorirresolvableconflict": Outcome.BACKOFF,
}
ATTENDEE_RESPONSES = {"none": "needsAction", "notResponded": "needsAction",
                      "organizer": "accepted", "accepted": "accepted", "declined": "declined",
                      "tentativelyAccepted": "tentative"}
BUSY_STATUSES = {"busy", "tentative", "oof"}  # free and workingElsewhere leave time open
SCHEDULES_PER_CALL = 20
SCHEDULE_SPAN = timedelta(days=61)  # getSchedule wants less than 62 days
SYNC_WINDOW = (timedelta(days=-90), timedelta(days=730))
PAGE_SIZE = 100
CANCEL_COMMENT = "This follow-up was cancelled."
TEAMS = "teamsForBusiness"  # onlineMeetingProvider of a Teams meeting
NO_FREE_BUSY = "a personal Microsoft account can read only its own calendar"
IN_UTC = 'outlook.timezone="UTC"'
DELTA_PREFER = f"{IN_UTC}, odata.maxpagesize={PAGE_SIZE}"


class OutlookCalendar:
    name: ClassVar[str] = "outlook"

    def __init__(self, *, token_cache: str | None, account_id: str | None, settings: Settings,
                 on_cache_changed: Callable[[str], None] | None = None,
                 http_client: requests.Session | None = None,
                 sleep: Callable[[float], None] = time.sleep, max_attempts: int = 5,
                 timeout: float = 10.0, personal_account: bool = False,
                 clock: Clock | None = None) -> None:
        self._http = http_client or requests.Session()
        self._tokens = GraphTokens(token_cache=token_cache, account_id=account_id,
                                   settings=settings, on_cache_changed=on_cache_changed,
                                   http_client=self._http, timeout=timeout)
        self._sleep, self._max_attempts, self._timeout = sleep, max_attempts, timeout
        self._personal = personal_account or (account_id or "").endswith(f".{CONSUMER_TENANT}")
        self._clock = clock or SystemClock()
        self._graph = settings.graph_api_endpoint.rstrip("/") + "/"
        self._random = random.Random()

    # --- CalendarProvider --------------------------------------------------------------------

    def busy(self, calendar_ids: Sequence[str], window: Interval) -> BusyResult:
        ids = list(dict.fromkeys(calendar_ids))
        if self._personal:
            return self._own_busy(ids, window)
        by_lower = {cid.lower(): cid for cid in ids}
        found: dict[str, set[Interval]] = {cid: set() for cid in ids}
        errors: dict[str, str] = {}
        for chunk in chunks(ids, SCHEDULES_PER_CALL):
            for piece in pieces(window, SCHEDULE_SPAN):
                response, outcome = self._send(
                    "POST", self._url("me/calendar/getSchedule"), allow={Outcome.DENIED},
                    prefer=IN_UTC,
                    json={"schedules": chunk, "startTime": _wire_time(piece.start),
                          "endTime": _wire_time(piece.end), "availabilityViewInterval": 1440})
                if outcome is Outcome.DENIED:  # no getSchedule here: remember, read our own
                    self._personal = True
                    return self._own_busy(ids, window)
                for schedule in response.json().get("value", []):
                    cid = by_lower.get(schedule["scheduleId"].lower(), schedule["scheduleId"])
                    if "error" in schedule:
                        errors[cid] = schedule["error"].get("message") or "unreadable"
                    else:
                        found[cid].update(_busy_intervals(schedule.get("scheduleItems", []),
                                                          window, "status"))
        return BusyResult(busy={cid: sorted(spans) for cid, spans in found.items()
                                if cid not in errors}, errors=errors)

    def create_event(self, event: CalendarEvent) -> EventRef:
        response, _ = self._send("POST", self._url("me/events"),
                                 json={**_event_body(event), "transactionId": event.uid})
        return self._ref(event.calendar_id, response.json())

    def update_event(self, ref: EventRef, event: CalendarEvent) -> EventRef:
        response, _ = self._send("PATCH", self._event_url(ref.event_id), json=_event_body(event))
        return self._ref(ref.calendar_id, response.json())

    def cancel_event(self, ref: EventRef) -> None:
        url = self._event_url(ref.event_id)
        _, outcome = self._send("POST", f"{url}/cancel", json={"Comment": CANCEL_COMMENT},
                                allow={Outcome.GONE, Outcome.REJECTED})
        if outcome is Outcome.REJECTED:  # not the organizer: plain delete
            self._send("DELETE", url, allow={Outcome.GONE})

    def changes(self, calendar_id: str, cursor: str | None) -> ChangeSet:
        start, end = (self._clock.now() + offset for offset in SYNC_WINDOW)
        first = (self._url("me/calendarView/delta"),
                 {"startDateTime": _iso(start), "endDateTime": _iso(end)})
        resync = cursor is not None and not cursor.startswith(self._graph)
        url, params = first if cursor is None or resync else (cursor, None)
        items: dict[str, dict[str, Any]] = {}
        restarted = False
        while True:
            response, outcome = self._send("GET", url, params=params, allow={Outcome.RESYNC},
                                           prefer=DELTA_PREFER)
            if outcome is Outcome.RESYNC:
                if restarted:
                    raise ProviderUnavailable("Outlook keeps losing the sync state")
                restarted, resync, items = True, cursor is not None, {}
                url, params = first
                continue
            page = response.json()
            items.update((item["id"], item) for item in page.get("value", []))
            if "@odata.nextLink" in page:
                url, params = page["@odata.nextLink"], None
            elif "@odata.deltaLink" in page:
                return ChangeSet([self._change(calendar_id, item) for item in items.values()],
                                 cursor=page["@odata.deltaLink"], full_resync=resync)
            else:
                raise ProviderUnavailable("Outlook ended a sync page without a next link")

    def list_calendars(self) -> list[CalendarInfo]:
        """GET /me/calendars, every page. Busy time is read per mailbox (getSchedule takes
        addresses), so a calendar is named by its owner's address; bookings go to the
        default calendar (/me/events), the one calendar that can receive them."""
        me = self._tokens.username().lower()
        found: dict[str, CalendarInfo] = {}
        url: str | None = self._url("me/calendars")
        params: dict[str, Any] | None = {"$select": "name,owner,isDefaultCalendar,canEdit"}
        while url:
            page = self._send("GET", url, params=params)[0].json()
            for item in page.get("value", []):
                owner = str((item.get("owner") or {}).get("address") or me).lower()
                default = bool(item.get("isDefaultCalendar")) and owner == me
                if owner not in found or default:
                    found[owner] = CalendarInfo(id=owner, name=item.get("name") or owner,
                                                primary=default, can_write=default)
            url, params = page.get("@odata.nextLink"), None
        return sorted(found.values(), key=lambda c: not c.primary)

    # --- change notifications ----------------------------------------------------------------

    def subscribe(self, *, notification_url: str, client_state: str,
                  expires_at: datetime) -> dict[str, Any]:
        """Ask Graph to POST event changes to `notification_url`; Graph first checks that the
        URL echoes a validationToken, so the receiving route must already be up."""
        response, _ = self._send("POST", self._url("subscriptions"), json={
            "changeType": "created,updated,deleted", "notificationUrl": notification_url,
            "resource": "me/events", "clientState": client_state,
            "expirationDateTime": _iso(expires_at)})
        return _subscription(response.json())

    def renew_subscription(self, subscription_id: str, expires_at: datetime) -> dict[str, Any]:
        response, _ = self._send("PATCH", self._url(f"subscriptions/{quote(subscription_id)}"),
                                 json={"expirationDateTime": _iso(expires_at)})
        return _subscription(response.json())

    def delete_subscription(self, subscription_id: str) -> None:
        self._send("DELETE", self._url(f"subscriptions/{quote(subscription_id)}"),
                   allow={Outcome.GONE})

    # --- reading one's own calendar ------------------------------------------------------------

    def _own_busy(self, ids: list[str], window: Interval) -> BusyResult:
        """The signed-in user's busy time from calendarView; nobody else's is readable."""
        me = self._tokens.username().lower()
        errors = {cid: NO_FREE_BUSY for cid in ids if cid.lower() != me}
        spans: set[Interval] = set()
        if len(errors) < len(ids):
            url: str | None = self._url("me/calendarView")
            params: dict[str, Any] | None = {
                "startDateTime": _iso(window.start), "endDateTime": _iso(window.end),
                "$select": "start,end,showAs,isCancelled", "$top": PAGE_SIZE}
            while url:
                page = self._send("GET", url, params=params, prefer=IN_UTC)[0].json()
                spans.update(_busy_intervals(
                    [e for e in page.get("value", []) if not e.get("isCancelled")], window,
                    "showAs"))
                url, params = page.get("@odata.nextLink"), None
        return BusyResult(busy={cid: sorted(spans) for cid in ids if cid not in errors},
                          errors=errors)

    # --- the one way to Graph ----------------------------------------------------------------

    def _url(self, path: str) -> str:
        return self._graph + path

    def _event_url(self, event_id: str) -> str:
        return self._url(f"me/events/{quote(event_id, safe='')}")

    def _send(self, method: str, url: str, *, allow: Collection[Outcome] = (),
              params: dict[str, Any] | None = None, prefer: str | None = None,
              **kwargs: Any) -> tuple[requests.Response, Outcome | None]:
        """The request, retried as Graph's answers say; answers whose outcome is in `allow`
        come back to the caller with that outcome, other failures raise. `prefer` is the
        Prefer header, for the calls whose page documents it."""
        if not url.startswith(self._graph):
            raise ProviderRejected(f"refusing to send the Outlook token to {url}")
        if params:
            url = f"{url}?{urlencode(params, quote_via=quote, safe='$,')}"
        wait, problem, refresh = 0.0, "no answer", False
        for attempt in range(1, self._max_attempts + 1):
            headers = {"Authorization": f"Bearer {self._tokens.access_token(refresh)}",
                       **({"Prefer": prefer} if prefer else {})}
            try:
                response = self._http.request(method, url, headers=headers,
                                              timeout=self._timeout, **kwargs)
            except (requests.Timeout, requests.ConnectionError) as exc:
                wait = next_wait(attempt, retry_after=None, rng=self._random)
                problem = type(exc).__name__
            else:
                outcome = _outcome(response)
                if outcome is None or outcome in allow:
                    return response, outcome
                problem = _describe(response)
                if outcome is Outcome.REAUTHORIZE and refresh:
                    raise self._tokens.disconnect("Graph refuses even a freshly refreshed token")
                if outcome is Outcome.REAUTHORIZE:
                    refresh = True
                    continue
                if outcome not in (Outcome.WAIT, Outcome.BACKOFF):
                    raise ProviderRejected(f"Outlook refused {method} {_path(url)}: {problem}",
                                           field="calendar")
                retry_after = _retry_after(response) if outcome is Outcome.WAIT else None
                wait = next_wait(attempt, retry_after=retry_after, rng=self._random)
            refresh = False
            if gives_up(attempt, max_attempts=self._max_attempts, wait=wait):
                break
            self._sleep(wait)
        raise ProviderUnavailable(f"Outlook did not complete {method} {_path(url)}: {problem}",
                                  retry_after=wait)

    # --- mapping -----------------------------------------------------------------------------

    def _ref(self, calendar_id: str, data: dict[str, Any]) -> EventRef:
        return EventRef(provider=self.name, calendar_id=calendar_id, event_id=data["id"],
                        etag=data.get("@odata.etag"),
                        video_link=(data.get("onlineMeeting") or {}).get("joinUrl"))

    def _change(self, calendar_id: str, item: dict[str, Any]) -> EventChange:
        ref = self._ref(calendar_id, item)
        if "@removed" in item or item.get("isCancelled"):
            return EventChange(ref=ref, status="cancelled")
        return EventChange(
            ref=ref, status="confirmed", start=_instant(item["start"]), end=_instant(item["end"]),
            attendees=tuple(_attendee(a) for a in item.get("attendees", [])))


def _outcome(response: requests.Response) -> Outcome | None:
    if response.status_code < 400:
        return None
    by_code = OUTCOMES.get(_error(response).get("code", "").lower())
    default = Outcome.BACKOFF if response.status_code >= 500 else Outcome.REJECTED
    return by_code or OUTCOMES.get(response.status_code, default)


def _error(response: requests.Response) -> dict[str, Any]:
    try:
        error = response.json().get("error")
    except (ValueError, AttributeError):
        return {}
    return error if isinstance(error, dict) else {}


def _describe(response: requests.Response) -> str:
    error = _error(response)
    return " ".join(filter(None, (str(response.status_code), error.get("code"),
                                  error.get("message"))))


def _path(url: str) -> str:
    return url.split("?", 1)[0]


def _retry_after(response: requests.Response) -> float | None:
    return retry_after_seconds(response.headers.get("Retry-After"))


def _wire_time(moment: datetime) -> dict[str, str]:
    return {"dateTime": moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S"), "timeZone": "UTC"}


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _instant(value: dict[str, str]) -> datetime:
    """A Graph dateTimeTimeZone (seven fractional digits, zone apart) as a UTC instant."""
    stamp, _, fraction = value["dateTime"].partition(".")
    local = datetime.fromisoformat(f"{stamp}.{fraction[:6]}" if fraction else stamp)
    zone = value.get("timeZone") or "UTC"
    return local.replace(tzinfo=UTC if zone == "UTC" else ZoneInfo(zone)).astimezone(UTC)


def _busy_intervals(items: list[dict[str, Any]], window: Interval,
                    status: str) -> Iterator[Interval]:
    """getSchedule items (`status`) or events (`showAs`) that take time, clipped to the window."""
    for item in items:
        if item.get(status, "busy") in BUSY_STATUSES:
            start = max(_instant(item["start"]), window.start)
            end = min(_instant(item["end"]), window.end)
            if start < end:
                yield Interval(start, end)


def _event_body(event: CalendarEvent) -> dict[str, Any]:
    """With `conference`, a Teams meeting (learn.microsoft.com/en-us/graph/
    outlook-calendar-online-meetings); an account that allows no Teams gets none, and the
    answer's `onlineMeeting` is null."""
    online = {"isOnlineMeeting": True, "onlineMeetingProvider": TEAMS} if event.conference \
        else {}
    location = {"location": {"displayName": event.location}} if event.location else {}
    return {**online, **location,
        "subject": event.title,
        "body": {"contentType": "text", "content": event.description},
        "start": _wire_time(event.start), "end": _wire_time(event.end),
        "showAs": "busy",
        "attendees": [{"emailAddress": {"address": a.email, "name": a.name or a.email},
                       "type": "optional" if a.optional else "required"}
                      for a in event.attendees],
        "singleValueExtendedProperties": [{"id": property_id(name), "value": value}
                                          for name, value in event.properties.items()]}


def _attendee(data: dict[str, Any]) -> Attendee:
    address = data.get("emailAddress") or {}
    return Attendee(email=address.get("address", ""), name=address.get("name", ""),
                    optional=data.get("type") == "optional",
                    response=ATTENDEE_RESPONSES.get(
                        (data.get("status") or {}).get("response", "none"), "needsAction"))


def _subscription(data: dict[str, Any]) -> dict[str, Any]:
    expiration = datetime.fromisoformat(data["expirationDateTime"].replace("Z", "+00:00"))
    return {"id": data["id"], "expiration": expiration.astimezone(UTC)}


def _build(credentials: dict[str, Any], settings: Settings,
           save: Callable[[dict[str, Any]], None],
           http: requests.Session | None) -> OutlookCalendar:
    """`http` is the session msal and Graph calls go through (tests reach the emulators)."""
    return OutlookCalendar(
        token_cache=credentials.get("token_cache"), account_id=credentials.get("account_id"),
        settings=settings, http_client=http,
        personal_account=bool(credentials.get("personal_account")),
        on_cache_changed=lambda cache: save({**credentials, "token_cache": cache}))


DESCRIPTION = ProviderDescription(
    name=OutlookCalendar.name, label="Outlook / Microsoft 365",
    sends_own_invites=True,  # Exchange sends the invitations
    reads_colleagues=True, build=_build, oauth=MicrosoftOAuth(), push=GraphSubscriptions(),
    video_meetings="Microsoft Teams")

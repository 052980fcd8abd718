"""What Microsoft documents for each Graph endpoint the emulator serves: the query parameters
and the Graph-defined request headers (Prefer preferences included), one row per endpoint, each
naming its documentation page. A request using anything else is refused with Graph's 400, so an
adapter cannot come to depend on something the real service refuses or silently ignores.

Names compare case-insensitively, as Graph's do (the event-delta page's own example writes
`startdatetime`). A parameter the page documents but the emulator does not implement (e.g.
calendarView's `$filter`) is left out of its row: refusing it beats answering as if it applied.
Generic HTTP headers (Accept, User-Agent, Content-Length...) are not Graph's and pass everywhere;
the headers checked are those Graph gives a meaning to (`GRAPH_HEADERS`). The check runs before
the bearer token is read, so a bad query without a token gets this 400, not Graph's 401.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from flask import request

from tests.emulators.graph_wire import GraphError, preferences

DOCS = "https://learn.microsoft.com/en-us/graph"
GRAPH_HEADERS = frozenset({"consistencylevel", "if-match", "if-none-match"})  # besides Prefer
OUTLOOK_QUERY_CODE = "ErrorInvalidUrlQuery"  # what Outlook's endpoints answer a bad query with
# Word for word what Graph answers on calendarView/delta (seen from real tenants).
NOT_TRACKED = ("The following parameters are not supported with change tracking over the "
               "'CalendarView' resource: '$orderby, $filter, $select, $expand, $search'.")
TOP_NOT_TRACKED = ("The '$top' parameter is not supported with change tracking over the "
                   "'CalendarView' resource as page size cannot be guaranteed. Express page "
                   "size preferences using the Prefer: odata.maxpagesize= header instead.")


@dataclass(frozen=True)
class Rule:
    """One endpoint: its page, its documented query parameters and Prefer preferences, the
    error code it refuses a bad query with, and the exact message for a parameter the page
    names as unsupported. None of these pages documents ConsistencyLevel or If-Match."""

    page: str
    query: frozenset[str] = frozenset()
    prefer: frozenset[str] = frozenset()
    code: str = OUTLOOK_QUERY_CODE
    unsupported: dict[str, str] = field(default_factory=dict)


def _rule(page: str, *, query: tuple[str, ...] = (), prefer: tuple[str, ...] = (),
          code: str = OUTLOOK_QUERY_CODE,
          unsupported: dict[str, str] | None = None) -> Rule:
    return Rule(f"{DOCS}/{page}", frozenset(q.lower() for q in query), frozenset(prefer), code,
                unsupported or {})


TIMEZONE, BODY_TYPE, PAGE_SIZE = "outlook.timezone", "outlook.body-content-type", \
    "odata.maxpagesize"
SUBSCRIPTIONS = "BadRequest"  # not an Outlook endpoint: Graph's generic code

# The emulator's view name -> what Microsoft documents for that endpoint.
RULES: dict[str, Rule] = {
    # "Request headers": Authorization, Content-Type; the page's examples add outlook.timezone.
    # Body isOnlineMeeting + onlineMeetingProvider (teamsForBusiness) make the Teams meeting
    # whose onlineMeeting.joinUrl the answer carries, where the calendar's
    # allowedOnlineMeetingProviders has it: {DOCS}/outlook-calendar-online-meetings
    # (graph_wire.ALLOWED_PROVIDERS). Neither adds a query parameter or a header.
    "create_event": _rule("api/user-post-events?view=graph-rest-1.0", prefer=(TIMEZONE,)),
    # "Optional query parameters: OData"; "Request headers": outlook.timezone, body-content-type.
    "get_event": _rule("api/event-get?view=graph-rest-1.0", query=("$select", "$expand"),
                       prefer=(TIMEZONE, BODY_TYPE)),
    "update_event": _rule("api/event-update?view=graph-rest-1.0"),
    "delete_event": _rule("api/event-delete?view=graph-rest-1.0"),
    "cancel_event": _rule("api/event-cancel?view=graph-rest-1.0"),
    # "Request headers": Authorization, Content-Type, Prefer: outlook.timezone; no query.
    "get_schedule": _rule("api/calendar-getschedule?view=graph-rest-1.0", prefer=(TIMEZONE,)),
    # "This method supports the OData query parameters"; paged by @odata.nextLink.
    "list_calendars": _rule("api/user-list-calendars?view=graph-rest-1.0",
                            query=("$select", "$top", "$skip")),
    # startDateTime/endDateTime required, "some of the OData query parameters".
    "calendar_view": _rule("api/user-list-calendarview?view=graph-rest-1.0",
                           query=("startDateTime", "endDateTime", "$select", "$top", "$skip"),
                           prefer=(TIMEZONE, BODY_TYPE)),
    # event: delta, "OData query parameters": no $select ("You cannot use $select"), and no
    # $expand, $filter, $orderby or $search; page size only through Prefer (delta-query-events).
    "calendar_view_delta": _rule(
        "api/event-delta?view=graph-rest-1.0",
        query=("startDateTime", "endDateTime", "$deltatoken", "$skiptoken"),
        prefer=(PAGE_SIZE, TIMEZONE),
        unsupported={"$expand": NOT_TRACKED, "$filter": NOT_TRACKED, "$orderby": NOT_TRACKED,
                     "$search": NOT_TRACKED, "$select": NOT_TRACKED,
                     "$top": TOP_NOT_TRACKED}),
    "create_subscription": _rule("api/subscription-post-subscriptions?view=graph-rest-1.0",
                                 code=SUBSCRIPTIONS),
    "renew_subscription": _rule("api/subscription-update?view=graph-rest-1.0",
                                code=SUBSCRIPTIONS),
    "delete_subscription": _rule("api/subscription-delete?view=graph-rest-1.0",
                                 code=SUBSCRIPTIONS),
}


def check_request(view: str) -> None:
    """Refuse, as Graph would, a query parameter, Graph header or Prefer preference the
    endpoint's page does not document."""
    rule = RULES[view]
    for name in request.args:
        if name.lower() not in rule.query:
            raise GraphError(400, rule.code, rule.unsupported.get(name.lower()) or (
                f"The query parameter '{name}' is not supported on this request ({rule.page} "
                f"documents: {', '.join(sorted(rule.query)) or 'none'})."))
    for header, _ in request.headers.items():
        if header.lower() in GRAPH_HEADERS:
            raise GraphError(400, "BadRequest", f"The request header '{header}' is not "
                             f"supported on this request ({rule.page}).")
    for preference in preferences():
        if preference not in rule.prefer:
            raise GraphError(400, "BadRequest", f"Prefer: {preference} is not supported on this "
                             f"request ({rule.page} documents: "
                             f"{', '.join(sorted(rule.prefer)) or 'none'}).")

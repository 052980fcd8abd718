"""The OpenAPI 3.1 document of the JSON API, generated from the same pydantic models the views
parse and render with, and from one route table: a new endpoint that is missing here fails
a test instead of drifting silently."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from functools import cache
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints
from pydantic.json_schema import GenerateJsonSchema, models_json_schema
from pydantic_core import core_schema

from scheduler.availability import canonical_zone_names
from scheduler.plans import MAX_WHAT_LENGTH, STEP_TYPES
from scheduler.requests import (
    AvailabilityRequest,
    BookingRequest,
    Email,
    FollowUpPatch,
    Instant,
    Name,
    NoNextStep,
    OfferRequest,
    ProposalRequest,
    StepType,
    TimeZone,
)
from web.api.schemas import (
    AvailabilityOut,
    ErrorOut,
    FollowUpOut,
    HealthOut,
    LogPageOut,
    LogQuery,
    NoNextStepOut,
    OfferOut,
    ProposalOut,
    TimezoneGuessOut,
    TimezoneQuery,
)

PREFIX = "/api/v1"
REF = "#/components/schemas/{model}"


def _validator(alias: Any) -> Callable[..., Any]:
    return next(m.func for m in alias.__metadata__ if isinstance(m, AfterValidator))


# What the request models' validator functions accept, in JSON Schema words, so clients
# (and Schemathesis) see the real rules: pydantic cannot read them out of a function.
VALIDATOR_HINTS: dict[Callable[..., Any], dict[str, Any]] = {
    _validator(Email): {"format": "email"},
    _validator(TimeZone): {"enum": list(canonical_zone_names())},
    _validator(StepType): {"enum": list(STEP_TYPES)},
    _validator(Name): {"pattern": "^[^\\x00-\\x1f\\x7f]*$"},
    _validator(Instant): {"pattern": "^(19[7-9][0-9]|2[0-9]{3})-",
                          "description": "RFC 3339 with offset, years 1970-2999."},
}


class DocumentedRules(GenerateJsonSchema):
    def function_after_schema(self, schema: core_schema.AfterValidatorFunctionSchema) -> dict:
        generated = super().function_after_schema(schema)
        return {**generated, **VALIDATOR_HINTS.get(schema["function"]["function"], {})}


Person = Literal["rep", "prospect"] | Email


class StepIn(BaseModel):
    """One step as scheduler.plans.parse_plan reads it (documentation only: parse_plan is
    the validator, and a test keeps these fields equal to its STEP_KEYS)."""

    model_config = ConfigDict(extra="forbid", title="StepIn")

    who: Person = Field(description="An email address, or `rep` / `prospect`.")
    what: Annotated[str, StringConstraints(min_length=1, max_length=MAX_WHAT_LENGTH)]
    type: Literal[tuple(STEP_TYPES)] = "other"  # type: ignore[valid-type]
    due: date | AwareDatetime = Field(description="A date (`2026-11-27`) or a date and time "
                                                  "with offset; not in the past.")
    help_from: list[Person] = Field(default_factory=list)


class PlanIn(BaseModel):
    """The action plan of a booking: who will do what by when, with help from whom."""

    model_config = ConfigDict(extra="forbid", title="PlanIn")

    steps: list[StepIn] = Field(min_length=1, max_length=5)


@dataclass(frozen=True)
class Route:
    path: str
    method: str
    operation_id: str
    summary: str
    response: type[BaseModel] | None  # None: text/csv
    status: int = 200
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    auth: bool = True
    errors: tuple[int, ...] = ()
    also: tuple[tuple[int, str], ...] = ()  # further success answers: (status, description)
    examples: tuple[tuple[str, dict[str, Any]], ...] = ()  # request bodies: (name, value)


PROSPECT_EXAMPLE = {"name": "Dana Whitfield", "email": "dana@acme.example.com",
                    "timezone": "America/Los_Angeles", "company": "Acme"}
PROPOSAL_EXAMPLE = {"prospect": PROSPECT_EXAMPLE, "duration_minutes": 30,
                    "helpers": ["lee@example.com"], "step_type": "proposal_review", "count": 3}
BOOKING_EXAMPLE = {
    "prospect": PROSPECT_EXAMPLE, "start": "2026-11-24T16:00:00Z", "duration_minutes": 30,
    "helpers": ["lee@example.com"], "title": "Proposal review with Acme",
    "step_type": "proposal_review", "idempotency_key": "call-2026-11-23-dana",
    "plan": {"steps": [
        {"who": "rep", "what": "send the proposal", "type": "send_proposal",
         "due": "2026-11-27", "help_from": ["lee@example.com"]},
        {"who": "prospect", "what": "share it with the CFO", "type": "talk_with_colleagues",
         "due": "2026-11-30"},
    ]},
}
AVAILABILITY_EXAMPLE = {
    "timezone": "America/New_York",
    "working_hours": {"timezone": "America/New_York",
                      "weekly": {str(day): [["09:00", "12:00"], ["13:00", "17:00"]]
                                 for day in range(5)},
                      "overrides": {"2026-12-24": []}},
    "buffer_before_minutes": 10, "buffer_after_minutes": 10, "min_notice_minutes": 60,
    "default_duration_minutes": 30, "prospect_daytime": [["08:00", "18:00"]],
    "video_link": "https://meet.example.com/dana"}


BODY_ERRORS = (400, 401, 413, 422)

ROUTES: tuple[Route, ...] = (
    Route("/health", "get", "health", "Is the service and its database up?", HealthOut,
          auth=False, also=((503, "Degraded: the database cannot be reached "
                                  "(`{\"status\": \"degraded\", \"database\": "
                                  "\"unreachable\"}`)."),)),
    Route("/openapi.json", "get", "openapi", "This document.", None, auth=False),
    Route("/proposals", "post", "create_proposal",
          "The best slots for rep, helpers and the prospect's daytime, with a sentence to "
          "read aloud.", ProposalOut, body=ProposalRequest, errors=BODY_ERRORS,
          examples=(("proposal", PROPOSAL_EXAMPLE),)),
    Route("/followups", "post", "create_followup",
          "Book the follow-up. The same idempotency_key again answers 200 with the first "
          "booking.", FollowUpOut, status=201, body=BookingRequest,
          errors=(*BODY_ERRORS, 409, 503),
          also=((200, "Replay of an idempotency key: the follow-up booked the first time."),),
          examples=(("booking", BOOKING_EXAMPLE),)),
    Route("/followups/{id}", "get", "show_followup", "One of the rep's follow-ups.",
          FollowUpOut, errors=(401, 404)),
    Route("/followups/{id}", "patch", "change_followup",
          "Exactly one change: `start` reschedules, `status: cancelled` cancels, `status: "
          "done` marks the meeting done once it has ended (422 before), `steps` marks steps "
          "done, `plan` amends the plan (unchanged steps stay done).",
          FollowUpOut,
          body=FollowUpPatch,
          errors=(*BODY_ERRORS, 404, 409, 503),
          examples=(("reschedule", {"start": "2026-11-25T17:30:00Z"}),
                    ("cancel", {"status": "cancelled"}),
                    ("done", {"status": "done"}),
                    ("steps_done", {"steps": [{"index": 0, "done": True}]}),
                    ("plan", {"plan": BOOKING_EXAMPLE["plan"]}))),
    Route("/offers", "post", "create_offer_link",
          "Hold slots (the `slots` given, else the best `count`) and email the prospect a "
          "link to pick one; the URL is also returned to paste into chat.", OfferOut,
          status=201, body=OfferRequest, errors=(*BODY_ERRORS, 409, 503),
          also=((200, "Replay of an idempotency key: the offer sent the first time."),),
          examples=(("offer", {"prospect": PROSPECT_EXAMPLE, "duration_minutes": 30,
                               "plan": BOOKING_EXAMPLE["plan"], "count": 3,
                               "expires_in_minutes": 1440}),)),
    Route("/calls/no-next-step", "post", "no_next_step",
          "Record that the call ended without a next step, on purpose.", NoNextStepOut,
          status=201, body=NoNextStep, errors=BODY_ERRORS,
          examples=(("no_budget", {"prospect": PROSPECT_EXAMPLE,
                                   "reason": "no budget before next year"}),)),
    Route("/prospects/timezone", "get", "prospect_timezone",
          "The zone used at this prospect's last booking, or null.", TimezoneGuessOut,
          query=TimezoneQuery, errors=(401, 422)),
    Route("/me/availability", "get", "my_availability",
          "The rep's own working hours, buffers, notice, default length, prospect daytime "
          "and video link (the deployment's settings where the rep set none).",
          AvailabilityOut, errors=(401,)),
    Route("/me/availability", "put", "change_my_availability",
          "Replace all of the rep's availability; proposals, offers and bookings use it at "
          "once. A bad value is a 422 naming it, and nothing is saved.", AvailabilityOut,
          body=AvailabilityRequest, errors=BODY_ERRORS,
          examples=(("availability", AVAILABILITY_EXAMPLE),)),
    Route("/log", "get", "log_page",
          "The rep's log entries, oldest first, one page at a time (pass `next` back as "
          "`cursor`).", LogPageOut, query=LogQuery, errors=(401, 422)),
    Route("/log.csv", "get", "log_csv",
          "The rep's log as CSV: id, at, kind, rep_id, followup_id, data (JSON).", None,
          query=LogQuery, errors=(401, 422)),
)

ERROR_DESCRIPTIONS = {
    400: "The body is not a JSON object (code `invalid_json`).",
    401: "No valid bearer token (code `unauthorized`, field `Authorization`).",
    404: "No such follow-up for this rep (code `not_found`).",
    409: "`slot_taken`: someone required is busy or the slot is held; or `conflict` with the "
         "follow-up's state.",
    413: "The body is larger than 256 KiB.",
    422: "A field is missing or wrong; `field` names it (`prospect.email`, "
         "`plan.steps.0.due`, `helpers.0`).",
    503: "A calendar could not be read (code `provider_unavailable`) or the database cannot "
         "be reached (code `database_unavailable`); try again after `Retry-After` seconds.",
}


@cache
def openapi_document() -> dict[str, Any]:
    """Built once per process: the models do not change while it runs."""
    bodies = [route.body for route in ROUTES if route.body]
    answers = [route.response for route in ROUTES if route.response]
    keys, schemas = models_json_schema(
        [*((model, "validation") for model in (*bodies, PlanIn)),
         *((model, "serialization") for model in (*answers, ErrorOut))],
        ref_template=REF, schema_generator=DocumentedRules)
    components = schemas.get("$defs", {})
    booking = components[_name(keys[(BookingRequest, "validation")])]
    booking["properties"]["plan"] = keys[(PlanIn, "validation")]
    patch = components[_name(keys[(FollowUpPatch, "validation")])]
    patch["properties"]["plan"] = {"anyOf": [keys[(PlanIn, "validation")], {"type": "null"}],
                                   "description": "The amended plan, replacing the old one; "
                                                  "the event and the invite follow."}

    availability = components[_name(keys[(AvailabilityRequest, "validation")])]
    shown = components[_name(keys[(AvailabilityOut, "serialization")])]["properties"]
    for name in ("working_hours", "prospect_daytime"):  # checked by the service, shown here
        availability["properties"][name] = shown[name]

    paths: dict[str, dict[str, Any]] = {}
    for route in ROUTES:
        paths.setdefault(PREFIX + route.path, {})[route.method] = _operation(route, keys)
    return {
        "openapi": "3.1.0",
        "info": {"title": "Nextstep API", "version": "1.0.0",
                 "description": "Book the follow-up while the prospect is still on the "
                                "line. Times are RFC 3339 (UTC answers end in `Z`); time "
                                "zones are IANA names. Every error is "
                                "`{\"error\": {\"code\", \"message\", \"field\"}}`."},
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer",
                                           "description": "An API token from "
                                                          "`nextstep token create EMAIL`."}},
        },
    }


def _name(ref: dict[str, str]) -> str:
    return ref["$ref"].rsplit("/", 1)[-1]


def _operation(route: Route, keys: dict) -> dict[str, Any]:
    operation: dict[str, Any] = {"operationId": route.operation_id, "summary": route.summary,
                                 "security": [{"bearer": []}] if route.auth else [],
                                 "responses": {}}
    parameters = [*_path_parameters(route.path), *_query_parameters(route.query)]
    if parameters:
        operation["parameters"] = parameters
    if route.body is not None:
        media: dict[str, Any] = {"schema": keys[(route.body, "validation")]}
        if route.examples:
            media["examples"] = {name: {"value": value} for name, value in route.examples}
        operation["requestBody"] = {"required": True, "content": {"application/json": media}}
    responses = operation["responses"]
    responses[str(route.status)] = _answer(route, keys, "Created" if route.status == 201 else "OK")
    for status, description in route.also:
        responses[str(status)] = _answer(route, keys, description)
    database = (503,) if route.auth and 503 not in route.errors else ()  # every call reads it
    for status in (*route.errors, *database):
        responses[str(status)] = {"description": ERROR_DESCRIPTIONS[status], "content": {
            "application/json": {"schema": keys[(ErrorOut, "serialization")]}}}
    return operation


def _answer(route: Route, keys: dict, description: str) -> dict[str, Any]:
    if route.response is None:
        media = "text/csv" if route.path.endswith(".csv") else "application/json"
        schema: dict[str, Any] = {"type": "string"} if media == "text/csv" else {"type":
                                                                                  "object"}
    else:
        media, schema = "application/json", keys[(route.response, "serialization")]
    return {"description": description, "content": {media: {"schema": schema}}}


def _path_parameters(path: str) -> list[dict[str, Any]]:
    names = [part[1:-1] for part in path.split("/") if part.startswith("{")]
    return [{"name": name, "in": "path", "required": True,
             "schema": {"type": "string", "maxLength": 64}} for name in names]


def _query_parameters(model: type[BaseModel] | None) -> list[dict[str, Any]]:
    if model is None:
        return []
    schema = model.model_json_schema(ref_template=REF, schema_generator=DocumentedRules)
    required = set(schema.get("required", ()))
    parameters = []
    for name, prop in schema["properties"].items():
        prop = _without_null(prop)
        parameter = {"name": name, "in": "query", "required": name in required,
                     "schema": prop}
        if "description" in prop:
            parameter["description"] = prop.pop("description")
        parameters.append(parameter)
    return parameters


def _without_null(prop: dict[str, Any]) -> dict[str, Any]:
    """A query parameter is absent rather than null: keep only the non-null branch."""
    prop = dict(prop)
    options = [o for o in prop.pop("anyOf", ()) if o.get("type") != "null"]
    if len(options) == 1:
        prop.update(options[0])
    elif options:
        prop["anyOf"] = options
    if prop.get("default", 0) is None:
        del prop["default"]
    return prop

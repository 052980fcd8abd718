"""Every Calendar API request checked against the Calendar v3 discovery document that
google-api-python-client ships, the way Google's front end checks a request before any calendar
logic sees it: the method must exist (HTTP method and path template), each query parameter must
be defined for it or for the whole API (alt, fields, prettyPrint, quotaUser, ...), required ones
present, enum values among the document's, integers, booleans and RFC 3339 times parseable, and
the JSON body made only of the fields its request schema names (through `$ref`, `items` and
`additionalProperties`), each of the type the schema gives. A refusal is Google's 400 shape.

The document is read from the installed googleapiclient, never copied: when the library updates
it, the emulator refuses what the new revision refuses. Standard library, googleapiclient and
Flask only, so it can move with the emulator; `install` hooks it in once, ahead of every view.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

import googleapiclient
from flask import Flask, Response, jsonify, request

DOCUMENT = (Path(googleapiclient.__file__).parent / "discovery_cache" / "documents"
            / "calendar.v3.json")
STATUS_NAMES = {400: "INVALID_ARGUMENT", 404: "NOT_FOUND"}
PROTO_TYPES = {"string": "TYPE_STRING", "boolean": "TYPE_BOOL", "integer": "TYPE_INT32",
               "number": "TYPE_DOUBLE", "object": "TYPE_MESSAGE", "array": "TYPE_MESSAGE"}
INT32 = (-2 ** 31, 2 ** 31 - 1)
INTEGER = re.compile(r"-?\d+")
BOOLEANS = {"true", "false"}


class Refused(Exception):
    """A request Google turns away before it reaches the calendar: Calendar's error JSON with
    the canonical status name."""

    def __init__(self, message: str, *, reason: str = "badRequest", status: int = 400,
                 parameter: str | None = None) -> None:
        super().__init__(message)
        self.message, self.reason, self.status, self.parameter = message, reason, status, parameter

    def response(self) -> Response:
        error = {"domain": "global", "reason": self.reason, "message": self.message}
        if self.parameter:
            error.update(location=self.parameter, locationType="parameter")
        answer = jsonify({"error": {"code": self.status, "message": self.message,
                                    "errors": [error], "status": STATUS_NAMES[self.status]}})
        answer.status_code = self.status
        return answer


@dataclass(frozen=True)
class Method:
    """One method of the document: `calendar.events.insert`, POST calendars/{calendarId}/events."""

    id: str
    http_method: str
    template: tuple[str, ...]
    parameters: Mapping[str, Mapping[str, Any]]
    request_schema: str | None

    def fits(self, segments: list[str]) -> bool:
        return len(segments) == len(self.template) and all(
            (part.startswith("{") and segment != "") or part == segment
            for part, segment in zip(self.template, segments, strict=True))

    @property
    def literal_parts(self) -> int:
        return sum(not part.startswith("{") for part in self.template)


class Discovery:
    """The document's methods, global parameters and schemas, and the checks they imply."""

    def __init__(self, document: Mapping[str, Any]) -> None:
        self.root = "/" + document["servicePath"].strip("/")
        self.global_parameters: Mapping[str, Mapping[str, Any]] = document["parameters"]
        self.schemas: Mapping[str, Mapping[str, Any]] = document["schemas"]
        self.methods = tuple(_methods(document["resources"]))

    def method(self, http_method: str, path: str) -> Method:
        """The method a path under the root names; Google answers 404 for any other."""
        segments = path.removeprefix(self.root).strip("/").split("/")
        fitting = [m for m in self.methods if m.http_method == http_method and m.fits(segments)]
        if not fitting:
            raise Refused(f"Method not found: {http_method} {path}", reason="notFound",
                          status=404)
        return max(fitting, key=lambda m: m.literal_parts)  # events/watch before {eventId}

    def check(self, http_method: str, path: str, args: Mapping[str, list[str]],
              body: object) -> Method:
        """The method the request names, once all it carries is allowed; else Refused. A body
        that is not a JSON object is left to the view (Google's parseError)."""
        method = self.method(http_method, path)
        for name, values in args.items():
            spec = method.parameters.get(name) or self.global_parameters.get(name)
            if spec is None or spec.get("location") != "query":
                raise Refused(f'Invalid JSON payload received. Unknown name "{name}": Cannot '
                              f"bind query parameter. Field '{name}' could not be found in "
                              f"request message.", reason="invalidParameter", parameter=name)
            for value in values:
                _check_parameter(name, value, spec)
        for name, spec in method.parameters.items():
            if spec.get("required") and spec.get("location") == "query" and name not in args:
                raise Refused(f"Required parameter: {name}", reason="required", parameter=name)
        if method.request_schema and isinstance(body, dict):
            self._check_value(body, {"$ref": method.request_schema}, "resource", method.id)
        return method

    def _check_value(self, value: object, schema: Mapping[str, Any], where: str,
                     method_id: str) -> None:
        """One body value against its schema; null is always allowed (a patch clears with it)."""
        if value is None:
            return
        schema = self.schemas[schema["$ref"]] if "$ref" in schema else schema
        kind = schema.get("type")
        if kind == "object":
            self._check_object(value, schema, where, method_id)
        elif kind == "array":
            if not isinstance(value, list):
                raise _invalid_value(where, kind, value)
            for index, item in enumerate(value):
                self._check_value(item, schema.get("items", {}), f"{where}[{index}]", method_id)
        elif kind != "any" and not _scalar_fits(value, kind, schema.get("format")):
            raise _invalid_value(where, kind, value)

    def _check_object(self, value: object, schema: Mapping[str, Any], where: str,
                      method_id: str) -> None:
        if not isinstance(value, dict):
            raise _invalid_value(where, "object", value)
        fields, extra = schema.get("properties", {}), schema.get("additionalProperties")
        for name, item in value.items():
            spec = fields.get(name, extra)
            if spec is None:
                at = f" at '{where}'" if where != "resource" else ""
                raise Refused(f'Invalid JSON payload received. Unknown name "{name}"{at}: '
                              f"Cannot find field.")
            self._check_value(item, spec, f"{where}.{name}" if name in fields
                              else f'{where}["{name}"]', method_id)
        for name, spec in fields.items():
            if method_id in spec.get("annotations", {}).get("required", ()) \
                    and value.get(name) is None:
                raise Refused(f"Missing required field: {where}.{name}", reason="required")


def _methods(resources: Mapping[str, Any]) -> Iterator[Method]:
    for resource in resources.values():
        for spec in resource.get("methods", {}).values():
            yield Method(id=spec["id"], http_method=spec["httpMethod"],
                         template=tuple(spec["path"].split("/")),
                         parameters=spec.get("parameters", {}),
                         request_schema=(spec.get("request") or {}).get("$ref"))
        yield from _methods(resource.get("resources", {}))


def _check_parameter(name: str, value: str, spec: Mapping[str, Any]) -> None:
    """A query value as the document types it."""
    kind, allowed = spec.get("type"), spec.get("enum")
    if allowed and value.lower() not in {choice.lower() for choice in allowed}:
        raise Refused(f"Invalid value '{value}'. Values must match the following regular "
                      f"expression: '(?i)({'|'.join(allowed)})'", reason="invalidParameter",
                      parameter=name)
    if kind == "integer":
        low, high = int(spec.get("minimum", INT32[0])), int(spec.get("maximum", INT32[1]))
        if not INTEGER.fullmatch(value):
            raise Refused(f"Invalid integer value: '{value}'.", reason="invalidParameter",
                          parameter=name)
        if not low <= int(value) <= high:
            raise Refused(f"Invalid value '{value}'. Values must be within the range: "
                          f"[{low}, {high}]", reason="invalidParameter", parameter=name)
    elif kind == "boolean" and value.lower() not in BOOLEANS:
        raise Refused(f"Invalid boolean value: '{value}'.", reason="invalidParameter",
                      parameter=name)
    elif spec.get("format") == "date-time" and not _rfc3339(value):
        raise Refused(f"Invalid value '{value}' for {name}: an RFC 3339 date-time with a time "
                      f"zone offset is required", reason="invalidParameter", parameter=name)


def _rfc3339(value: str) -> bool:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return False
    return "T" in value.upper() and moment.tzinfo is not None


def _scalar_fits(value: object, kind: str | None, fmt: str | None) -> bool:
    """Proto3 JSON as Google parses it: 64-bit integers and integers may come as strings."""
    if kind == "boolean":
        return isinstance(value, bool)
    if kind == "integer":
        return (isinstance(value, int) and not isinstance(value, bool)) or (
            isinstance(value, str) and INTEGER.fullmatch(value) is not None)
    if kind == "number":
        return isinstance(value, int | float | str) and not isinstance(value, bool)
    if kind == "string" and fmt in ("int64", "uint64"):
        return isinstance(value, str | int) and not isinstance(value, bool)
    return isinstance(value, str)


def _invalid_value(where: str, kind: str | None, value: object) -> Refused:
    return Refused(f"Invalid value at '{where}' ({PROTO_TYPES.get(kind or '', 'TYPE_STRING')}), "
                   f"{json.dumps(value)}")


@cache
def calendar_v3() -> Discovery:
    """The shipped Calendar v3 document, read once per process."""
    return Discovery(json.loads(DOCUMENT.read_text(encoding="utf-8")))


def check_request() -> Response | None:
    """A before-request hook: requests under the API's root are checked, others (OAuth) pass."""
    document = calendar_v3()
    if request.path != document.root and not request.path.startswith(document.root + "/"):
        return None
    try:
        document.check(request.method, request.path, request.args.to_dict(flat=False),
                       request.get_json(silent=True))
    except Refused as refused:
        return refused.response()
    return None


def install(app: Flask) -> None:
    """Check every Calendar request; install before other hooks, so a refused request counts
    nothing and meets no injected fault."""
    app.before_request(check_request)

"""Every error becomes `{"error": {"code", "message", "field"}}` with a 4xx: mapped once here,
so views have no `try`."""

from __future__ import annotations

from typing import Any, TypeVar

from flask import Flask, jsonify, request
from flask.json.provider import DefaultJSONProvider
from pydantic import BaseModel, ValidationError
from werkzeug.exceptions import HTTPException

from scheduler import errors as domain


class NotJSON(domain.InvalidInput):
    """The body is not JSON, or not the object the endpoint expects."""

    code = "invalid_json"


class InvalidRequest(Exception):
    """A request model refused the input. Wrapped so that a ValidationError from building an
    answer (a server bug) is not mistaken for the client's mistake on API paths."""

    def __init__(self, error: ValidationError) -> None:
        super().__init__(str(error))
        self.error = error


class BoundedJSON(DefaultJSONProvider):
    """Python's parser raises RecursionError on `[[[[…` thousands deep; as a ValueError it
    is a malformed body like any other (400), not a 500."""

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        try:
            return super().loads(s, **kwargs)
        except RecursionError:
            raise ValueError("JSON nested too deeply") from None


M = TypeVar("M", bound=BaseModel)


def parse(model: type[M], data: dict[str, Any]) -> M:
    """`data` as `model`; a refusal becomes InvalidRequest (422 naming the field)."""
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise InvalidRequest(error) from None


STATUS = {
    NotJSON: 400,
    domain.InvalidInput: 422,
    domain.Unauthorized: 401,
    domain.NotFound: 404,
    domain.SlotTaken: 409,
    domain.Conflict: 409,
    domain.OfferUsed: 409,
    domain.OfferExpired: 410,
    domain.BadToken: 400,
    domain.NeedsReconnect: 409,
    domain.ProviderUnavailable: 503,
    domain.ProviderRejected: 502,
}


def status_for(error: domain.SchedulerError) -> int:
    for kind in type(error).__mro__:
        if kind in STATUS:
            return STATUS[kind]
    return 400


def body(code: str, message: str, field: str | None = None) -> dict:
    return {"error": {"code": code, "message": message, "field": field}}


def validation_body(exc: ValidationError) -> dict:
    """The first problem, with its field as a dotted path ('prospect.email', 'helpers.0')."""
    error = exc.errors(include_url=False)[0]
    field = ".".join(str(part) for part in error["loc"]) or None
    message = error["msg"].removeprefix("Value error, ")
    if error["type"] == "missing":
        message = "is required"
    elif error["type"] == "extra_forbidden":
        message = "is not a known field"
    return body("invalid", f"{field}: {message}" if field else message, field)


def register(app: Flask) -> None:
    app.json = BoundedJSON(app)

    @app.errorhandler(domain.SchedulerError)
    def scheduler_error(error: domain.SchedulerError):
        status = status_for(error)
        headers = {"WWW-Authenticate": "Bearer"} if status == 401 else {}
        return jsonify(body(error.code, error.message, error.field)), status, headers

    @app.errorhandler(InvalidRequest)
    def invalid_request(error: InvalidRequest):
        return jsonify(validation_body(error.error)), 422

    @app.errorhandler(ValidationError)
    def invalid(error: ValidationError):
        if request.path.startswith("/api/"):
            raise error  # the API parses through InvalidRequest: this one is a bug, a 500
        return jsonify(validation_body(error)), 422

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        """JSON for the API (404, 405, 413 ...); pages keep Werkzeug's own answer."""
        if not request.path.startswith("/api/"):
            return error
        code = (error.name or "error").lower().replace(" ", "_")
        headers = {k: v for k, v in error.get_headers() if k.lower() != "content-type"}
        return jsonify(body(code, error.description or error.name)), error.code, headers

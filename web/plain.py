"""The request as plain values, for the provider code under scheduler/ that reads it."""

from __future__ import annotations

from flask import request

from scheduler.providers.base import RawRequest


def plain_request() -> RawRequest:
    return RawRequest(headers={name.lower(): value for name, value in request.headers.items()},
                      body=request.get_data(), args=request.args.to_dict(),
                      query_string=request.query_string.decode())

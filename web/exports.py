"""The log as a CSV download: one response for the API's /log.csv and the page's export, so
both stream every matching entry the same way."""

from __future__ import annotations

from collections.abc import Iterable

from flask import Response, stream_with_context

from scheduler.log import LogRecord, export_csv


def csv_download(records: Iterable[LogRecord]) -> Response:
    return Response(stream_with_context(export_csv(records)), mimetype="text/csv",
                    headers={"Content-Disposition": 'attachment; filename="nextstep-log.csv"'})

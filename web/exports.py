"""The log as a CSV download: one response for the API's /log.csv and the page's export, so
both stream every matching entry the same way."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from flask import Response, stream_with_context

from scheduler.log import LogRecord, export_csv


def csv_download(records: Iterable[LogRecord],
                 readable: Callable[[LogRecord], Sequence[str]] | None = None) -> Response:
    """`readable` adds the page's readable columns after the stable ones."""
    return Response(stream_with_context(export_csv(records, readable)), mimetype="text/csv",
                    headers={"Content-Disposition": 'attachment; filename="nextstep-log.csv"'})

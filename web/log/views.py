from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Literal

from flask import Response, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from pydantic import AfterValidator, BaseModel, ConfigDict, ValidationError

from scheduler.booking import mark_steps_done
from scheduler.log import KINDS, read_entries
from scheduler.overview import ReadableColumns, follow_through
from scheduler.requests import Name
from web.auth.session import current_viewer
from web.exports import csv_download
from web.log import bp
from web.runtime import deps, runtime


def _calendar_year(day: date) -> date:
    """A year a calendar can hold, so the day after `to` cannot overflow."""
    if not 1970 <= day.year <= 2999:
        raise ValueError("is not a date between 1970 and 2999")
    return day


Day = Annotated[date, AfterValidator(_calendar_year)]
PAGE_ENTRIES = 100  # the page shows the newest; the export has them all


class LogFilter(BaseModel):
    """The page's query string: every field optional, a bad one is named on the page.
    There is no rep filter: with no manager role yet, everyone sees only their own log."""

    model_config = ConfigDict(extra="ignore")
    kind: Literal[KINDS] | None = None  # type: ignore[valid-type]
    from_: Day | None = None
    to: Day | None = None
    prospect: Name | None = None  # a part of the prospect's email or name

    def bounds(self) -> dict:
        def start(day: date | None) -> datetime | None:
            return None if day is None else datetime.combine(day, time(), UTC)
        return {"kind": self.kind, "since": start(self.from_),
                "until": start(self.to + timedelta(days=1)) if self.to else None,
                "prospect": self.prospect}


def _filter() -> tuple[LogFilter, list[str]]:
    raw = {key: value for key, value in request.args.items() if value}
    if "from" in raw:
        raw["from_"] = raw.pop("from")
    try:
        return LogFilter.model_validate(raw), []
    except ValidationError as error:
        fields = sorted({str(e["loc"][0]).rstrip("_") for e in error.errors()})
        return LogFilter(), fields


@bp.get("/log")
@login_required
def index():
    query, bad_fields = _filter()
    rep = current_user.user
    records = list(read_entries(runtime().store, viewer=current_viewer(), newest_first=True,
                                limit=PAGE_ENTRIES, **query.bounds()))
    sections = follow_through(rep, prospect=query.prospect, **deps("store", "clock"))
    readable = ReadableColumns(runtime().store, viewer=current_viewer(), timezone=rep.timezone)
    readable.prefetch(records)
    return render_template("log/index.html", records=records, sections=sections, rep=rep,
                           summaries=readable.summaries,
                           kinds=KINDS, query=query, bad_fields=bad_fields,
                           args=request.args), 422 if bad_fields else 200


@bp.get("/log/export.csv")
@login_required
def export():
    query, bad_fields = _filter()
    if bad_fields:
        return Response(f"invalid filter: {', '.join(bad_fields)}\n", status=422,
                        mimetype="text/plain")
    rep = current_user.user
    records = list(read_entries(runtime().store, viewer=current_viewer(), newest_first=True,
                                **query.bounds()))
    readable = ReadableColumns(runtime().store, viewer=current_viewer(), timezone=rep.timezone)
    readable.prefetch(records)
    return csv_download(records, readable)


@bp.post("/log/followups/<followup_id>/steps/<int:index>/done")
@login_required
def mark_done(followup_id: str, index: int):
    """The "mark done" button beside each step; back to the log where it was pressed."""
    mark_steps_done(followup_id, [(index, True)], viewer=current_viewer(),
                    **deps("store", "clock"))
    return redirect(url_for("log.index", **request.args), code=303)

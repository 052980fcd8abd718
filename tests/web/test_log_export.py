"""Both CSV exports, the page's and the API's, stream every matching entry through the one
log reader: no silent stop at 1,000 rows, the page's filters honoured, another rep's
entries never included."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest

from scheduler import log
from scheduler.access import Viewer
from scheduler.accounts import create_api_token

MANY = 2_345  # more than two of the reader's batches
START = datetime(2026, 11, 1, 9, tzinfo=UTC)


@pytest.fixture
def many_entries(runtime, rep, make_rep):
    other = make_rep("morgan@example.com", name="Morgan Vale", timezone="Europe/Paris")
    with runtime.store.transaction() as session:
        for number in range(MANY):
            log.append(session, "call.no_next_step", at=START + timedelta(minutes=number),
                       rep_id=rep.id, prospect=f"prospect{number}@example.com")
        log.append(session, "offer.sent", at=START, rep_id=rep.id, prospect="ada@example.com")
        log.append(session, "call.no_next_step", at=START, rep_id=other.id,
                   prospect="theirs@example.com")


def _rows(response) -> list[list[str]]:
    assert (response.status_code, response.mimetype) == (200, "text/csv")
    return list(csv.reader(io.StringIO(response.get_data(as_text=True))))


def test_the_pages_export_has_every_matching_entry_past_a_thousand(signed_in, many_entries):
    rows = _rows(signed_in.get("/log/export.csv?kind=call.no_next_step"))

    assert rows[0][:len(log.EXPORT_COLUMNS)] == list(log.EXPORT_COLUMNS)
    assert len(rows) == 1 + MANY
    assert len({row[0] for row in rows[1:]}) == MANY  # no entry twice across batches
    assert all("theirs@" not in row[5] for row in rows[1:])


def test_the_page_and_the_api_export_the_same_rows(signed_in, client, runtime, rep,
                                                   many_entries):
    token = create_api_token(runtime.store, rep.email, clock=runtime.clock)

    page = _rows(signed_in.get("/log/export.csv"))
    api = _rows(client.get("/api/v1/log.csv", headers={"Authorization": f"Bearer {token}"}))

    stable = len(log.EXPORT_COLUMNS)  # the page adds readable columns after these
    assert page[0][:stable] == api[0]
    assert [row[:stable] for row in page[1:]] == api[:0:-1]  # the page's newest first
    assert len(page) == 1 + MANY + 1


def test_the_reader_pages_newest_first_and_stops_at_the_limit(runtime, rep, many_entries):
    viewer = Viewer.rep(rep.id)
    newest = list(log.read_entries(runtime.store, viewer=viewer, newest_first=True,
                                   limit=1_500, batch=1_000))
    oldest = list(log.read_entries(runtime.store, viewer=viewer, limit=1_500, batch=1_000))

    assert len(newest) == len(oldest) == 1_500
    assert [r.id for r in newest] == sorted((r.id for r in newest), reverse=True)
    assert [r.id for r in oldest] == sorted(r.id for r in oldest)
    assert newest[0].kind == "offer.sent"  # appended last of this rep's

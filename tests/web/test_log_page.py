"""The log page: newest first, filters from the query string, CSV export of the same."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from scheduler import log


@pytest.fixture
def entries(runtime, rep):
    with runtime.store.transaction() as session:
        log.append(session, "offer.sent", at=datetime(2026, 11, 20, 9, tzinfo=UTC),
                   rep_id=rep.id, prospect="Ada <b>Byron</b>")
        log.append(session, "call.no_next_step",
                   at=datetime(2026, 11, 23, 10, tzinfo=UTC), rep_id=rep.id,
                   prospect="Grace Hopper")


def test_entries_are_listed_newest_first(signed_in, entries):
    page = signed_in.get("/log")
    assert page.status_code == 200
    text = page.text
    assert text.index("call.no_next_step</span>") < text.index("offer.sent</span>")


def test_prospect_text_is_escaped(signed_in, entries):
    assert "Ada &lt;b&gt;Byron&lt;/b&gt;" in signed_in.get("/log").text


def test_kind_and_date_filters_narrow_the_entries(signed_in, entries):
    by_kind = signed_in.get("/log?kind=offer.sent").text
    assert "Grace Hopper" not in by_kind and "Byron" in by_kind
    by_date = signed_in.get("/log?from=2026-11-21&to=2026-11-23").text
    assert "Grace Hopper" in by_date and "Byron" not in by_date


def test_bad_date_is_named_on_the_page_with_422(signed_in, entries):
    page = signed_in.get("/log?from=yesterday")
    assert page.status_code == 422
    assert "Invalid filter: from" in page.text


def test_csv_export_streams_the_filtered_entries(signed_in, entries):
    response = signed_in.get("/log/export.csv?kind=call.no_next_step")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    lines = response.text.strip().splitlines()
    assert lines[0] == "id,at,kind,rep_id,followup_id,data"
    assert len(lines) == 2 and "call.no_next_step" in lines[1]


def test_log_page_needs_sign_in(client):
    assert client.get("/log").status_code in (302, 401)

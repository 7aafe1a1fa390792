"""The workbench in a real browser: sign in, approve, reject, bulk-approve above 0.8, roll a
field back, review with the keyboard only — each checked afterwards through the API and in the
store — plus escaping, CSRF, foreign ids and stale decisions."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from catalog.db import session_scope
from catalog.models import Change, Record
from tests.review_seed import XSS_TITLE, Seeded, seed_catalog
from tests.ui.conftest import Workbench, chromium_or_skip

chromium_or_skip()


@pytest.fixture
def seed(workbench: Workbench) -> Seeded:
    return seed_catalog(workbench.store_url, workbench.reports, organization="acme")


def _status(workbench: Workbench, change_id: int) -> tuple[str, str | None]:
    with session_scope(workbench.store_url) as session:
        change = session.get(Change, change_id)
        return change.status, change.reviewer


def _api_change(workbench: Workbench, seed: Seeded, change_id: int) -> dict:
    response = workbench.api.get(f"/api/catalogs/{seed.catalog}/changes/{change_id}")
    assert response.status_code == 200, response.text
    return response.json()


def _queue(page, workbench: Workbench, seed: Seeded, query: str = "") -> None:
    page.goto(workbench.ui(f"/catalogs/{seed.catalog}/queue{query}"))
    page.wait_for_selector("#queue .item.current")


def test_sign_in_sets_a_hardened_session_cookie(page, workbench: Workbench, browser) -> None:
    cookie = next(c for c in page.context.cookies() if c["name"] == "skuflow_session")
    assert cookie["httpOnly"] is True and cookie["sameSite"] == "Lax"
    assert cookie["path"] == "/ui" and cookie["expires"] > 0
    assert "Alice" in page.inner_text("header.top")
    other = browser.new_context()
    try:
        stranger = other.new_page()
        stranger.goto(workbench.ui("/login"))
        stranger.fill("input[name=reviewer]", "Mallory")
        stranger.fill("input[name=api_key]", "sk_nope_nope")
        stranger.click("button[type=submit]")
        assert "not valid" in stranger.inner_text("main")
        assert stranger.goto(workbench.ui("/")).url.startswith(workbench.ui("/login"))
    finally:
        other.close()


def test_approve_one_and_reject_one_with_the_buttons(page, workbench: Workbench, seed) -> None:
    first, second = seed.queued(workbench.store_url)[:2]
    _queue(page, workbench, seed)
    page.click(f"#change-{first.id} button.approve")
    page.wait_for_selector(f"#change-{first.id}", state="detached")
    page.click(f"#change-{second.id} button.reject")
    page.wait_for_selector(f"#change-{second.id}", state="detached")
    assert _status(workbench, first.id) == ("approved", "Alice")
    assert _status(workbench, second.id) == ("rejected", "Alice")
    assert _api_change(workbench, seed, first.id)["status"] == "approved"
    record = workbench.api.get(f"/api/catalogs/{seed.catalog}/records/AC-10000").json()
    assert record["values"][first.field] == first.new_value
    with session_scope(workbench.store_url) as session:
        assert session.get(Record, second.record_id).values.get(second.field) is None


def test_bulk_approve_above_a_confidence(page, workbench: Workbench, seed) -> None:
    queued = seed.queued(workbench.store_url)
    high = {c.id for c in queued if c.confidence >= 0.8}
    _queue(page, workbench, seed)
    page.fill("#bulk-matching input[name=min_confidence]", "0.8")
    page.click("#bulk-matching button[type=submit]")
    page.wait_for_selector(".toast")
    assert f"Approved {len(high)} change(s)" in page.inner_text("#toasts")
    listed = workbench.api.get(
        f"/api/catalogs/{seed.catalog}/changes", params={"status": "approved", "limit": 100}
    ).json()
    assert {c["id"] for c in listed["data"]} == high
    assert all(
        _status(workbench, c.id)[0] == "queued_for_review" for c in queued if c.id not in high
    )
    assert len(page.query_selector_all("#queue .item")) == len(queued) - len(high)


def test_roll_a_field_back_from_the_record_page(page, workbench: Workbench, seed) -> None:
    applied = seed.changes(workbench.store_url, status="applied", field="voltage")[0]
    external_id = next(k for k, v in seed.records.items() if v == applied.record_id)
    page.goto(workbench.ui(f"/catalogs/{seed.catalog}/records/{external_id}"))
    page.click("button.rollback[data-field=voltage]")
    page.wait_for_selector(".toast")
    assert "Rolled back 1 change" in page.inner_text("#toasts")
    assert _status(workbench, applied.id) == ("rolled_back", None)
    detail = workbench.api.get(f"/api/catalogs/{seed.catalog}/records/{external_id}").json()
    assert "voltage" not in detail["values"]
    voltage = next(f for f in detail["fields"] if f["field"] == "voltage")
    assert voltage["changes"][-1]["operation"] == "rollback"
    assert voltage["changes"][-1]["reviewer"] == "Alice"
    # what holds the field now is the undo, so the button offers to undo that (not again the first)
    holder = page.get_attribute("#field-voltage input[name=change_id]", "value")
    assert holder == str(voltage["changes"][-1]["id"])


def test_keyboard_only_review(page, workbench: Workbench, seed) -> None:
    queued = seed.queued(workbench.store_url)
    _queue(page, workbench, seed)
    page.keyboard.press("j")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("k")  # back to the second change
    assert page.get_attribute("#queue .item.current", "data-id") == str(queued[1].id)
    page.keyboard.press("a")
    page.wait_for_selector(f"#change-{queued[1].id}", state="detached")
    # the next change moved into place and is selected: reject it
    assert page.get_attribute("#queue .item.current", "data-id") == str(queued[2].id)
    page.keyboard.press("r")
    page.wait_for_selector(f"#change-{queued[2].id}", state="detached")
    page.keyboard.press("x")
    assert page.is_checked(f"#change-{queued[3].id} input[name=ids]")
    assert _status(workbench, queued[0].id)[0] == "queued_for_review"
    assert _status(workbench, queued[1].id) == ("approved", "Alice")
    assert _status(workbench, queued[2].id) == ("rejected", "Alice")
    assert _api_change(workbench, seed, queued[2].id)["status"] == "rejected"


def test_a_title_holding_script_renders_as_text(page, workbench: Workbench, seed) -> None:
    xss = seed.queued(workbench.store_url, record_id=seed.records["AC-XSS"])[0]
    for path in (
        f"/catalogs/{seed.catalog}/queue",
        f"/catalogs/{seed.catalog}/records/AC-XSS",
        f"/catalogs/{seed.catalog}/changes/{xss.id}",
        f"/catalogs/{seed.catalog}/records?q=drill",
    ):
        page.goto(workbench.ui(path))
        assert XSS_TITLE in page.inner_text("main"), path
        assert page.evaluate("window.__pwned") is None, path
        assert page.query_selector("main img[src=x]") is None


def test_a_form_without_its_csrf_token_is_refused(page, workbench: Workbench, seed) -> None:
    change = seed.queued(workbench.store_url)[0]
    url = workbench.ui(f"/catalogs/{seed.catalog}/changes/{change.id}/approve")
    for form in ({}, {"csrf_token": "forged"}):
        response = page.request.post(url, form=form, max_redirects=0)
        assert response.status == 403
        assert "security token" in response.text()
    assert _status(workbench, change.id) == ("queued_for_review", None)


def test_foreign_and_unknown_ids_answer_a_404_page(page, workbench: Workbench, seed) -> None:
    other = seed_catalog(workbench.store_url, workbench.reports, organization="globex")
    foreign = other.queued(workbench.store_url)[0]
    base = f"/catalogs/{seed.catalog}"
    for path in (
        f"{base}/changes/{foreign.id}",
        f"/catalogs/{other.catalog}/queue",
        "/catalogs/no-such-catalogue/queue",
        f"{base}/records/AC-NOPE",
        f"{base}/runs/{other.run_id}",
        f"{base}/changes/{2**63}",
    ):
        response = page.goto(workbench.ui(path))
        assert response.status in (404, 400), path
        assert "Traceback" not in page.content()
        assert page.inner_text("h1") in ("Not found", "Bad request"), path
    page.goto(workbench.ui(f"{base}/queue"))
    csrf = page.get_attribute("input[name=csrf_token]", "value")
    response = page.request.post(
        workbench.ui(f"{base}/changes/{foreign.id}/approve"),
        form={"csrf_token": csrf},
        max_redirects=0,
    )
    assert response.status in (303, 404)
    assert _status(workbench, foreign.id) == ("queued_for_review", None)


def test_deciding_a_change_someone_else_decided_says_so(page, workbench: Workbench, seed) -> None:
    change = seed.queued(workbench.store_url)[0]
    _queue(page, workbench, seed)
    rejected = workbench.api.post(
        f"/api/catalogs/{seed.catalog}/changes/{change.id}/reject", json={"reviewer": "Bob"}
    )
    assert rejected.status_code == 200
    page.click(f"#change-{change.id} button.approve")
    page.wait_for_selector(".toast.error")
    message = page.inner_text("#toasts")
    assert re.search(rf"change {change.id} is rejected by Bob .*nothing changed", message)
    assert _status(workbench, change.id) == ("rejected", "Bob")
    with session_scope(workbench.store_url) as session:
        assert (
            session.scalar(select(Record.values).where(Record.id == change.record_id)).get(
                change.field
            )
            is None
        )

"""The traffic page in a real browser: the network and charts draw, only Transport staff see the run
button, a run goes through as a background job with progress, and its results come back to the page.

Set CIVICBRAIN_SCREENSHOTS to a folder to save screenshots of the page before and after the run.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from civicbrain.services.traffic import SERVICE as TRAFFIC
from civicbrain.services.traffic.domain.scenarios import ScenarioNotFound, resco_scenario
from tests.e2e.browsing import sign_in, sign_out, snapshot
from tests.support import TEST_SERVICES

pytestmark = pytest.mark.e2e
SCENARIO = "cologne1"  # one junction: the quickest real network to simulate


@pytest.fixture(scope="module")
def e2e_services() -> tuple[object, ...]:
    try:
        resco_scenario(SCENARIO)
    except ScenarioNotFound as exc:
        pytest.skip(str(exc))
    return (*TEST_SERVICES, TRAFFIC)


def test_operator_runs_a_scenario_and_sees_junctions_shadow_and_comparison(page: Page) -> None:
    page.goto(f"/traffic?scenario={SCENARIO}")
    expect(page.get_by_role("heading", name="Traffic signals", level=1)).to_be_visible()
    expect(page.get_by_role("link", name="Traffic", exact=True)).to_have_attribute("aria-current", "page")
    # The network is drawn from its GeoJSON (Plotly draws an SVG into the chart's element).
    network = page.locator("[data-plot='network-chart-data']")
    expect(network).to_have_attribute("data-drawn", "1")
    expect(network.locator("svg").first).to_be_visible()
    expect(page.get_by_text(f"No run of {SCENARIO} on this instance yet")).to_be_visible()
    # Visitors and citizens read everything, but cannot run the city's signals.
    run_button = page.get_by_role("button", name=f"Run {SCENARIO} in the background")
    expect(run_button).to_have_count(0)
    snapshot(page, "traffic-before")

    sign_in(page, "admin")
    page.goto(f"/traffic?scenario={SCENARIO}")
    # Only live-registered controllers may be chosen to run live; the recommended one waits in shadow.
    live_options = page.locator("#run-controller option")
    expect(live_options.first).to_have_attribute("value", "fixed")
    page.get_by_label("Shadow candidate").select_option("qpa")
    page.get_by_label("Simulated time").select_option("900")
    run_button.click()

    expect(page).to_have_url(re.compile(r"/jobs/[0-9a-f\-]{36}$"))
    expect(page.get_by_role("heading", name="Traffic operation")).to_be_visible()
    status = page.locator(".job")
    expect(status).to_have_class(re.compile(r"job-done"), timeout=90_000)
    expect(status.locator("progress")).to_have_attribute("value", "100")
    snapshot(page, "traffic-job")

    page.goto(f"/traffic?scenario={SCENARIO}")
    junction_rows = page.locator("#junction-table tbody tr")
    expect(junction_rows).to_have_count(1)
    runs = page.locator("#runs-table tbody tr")
    expect(runs).to_have_count(1)
    expect(runs.first).to_contain_text("fixed")
    expect(runs.first).to_contain_text("qpa")
    expect(runs.first).to_contain_text("3 live, 3 shadow")  # 1 junction x 3 windows of 5 minutes, each
    comparison = page.locator("#comparison-table")
    expect(comparison).to_contain_text("fixed (run 1)")
    expect(comparison).to_contain_text("qpa (run 1, shadow)")
    expect(page.locator("[data-plot='comparison-chart-data']")).to_have_attribute("data-drawn", "1")
    # The seeded detector feed (two loops) arrived through the exchange.
    expect(page.locator("#detector-table tbody tr")).to_have_count(2)
    snapshot(page, "traffic-after")

    # An operator confirms an incident alert (if the run raised one): a human decision chained to it.
    review = page.locator("#alerts-table form")
    if review.count():
        review.first.get_by_role("textbox").fill("Camera 3 shows a broken-down van in the lane.")
        review.first.get_by_role("button", name="Record").click()
        expect(page).to_have_url(re.compile(r"/traffic\?scenario=cologne1#incidents$"))
        expect(page.locator("#alerts-table tbody tr").first).to_contain_text("confirmed")
    sign_out(page)

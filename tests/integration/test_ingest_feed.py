"""The paged XML feed over real HTTP on loopback into the real Cassandra:
every page followed once, the cursor where it should be after success and
after each kind of failure."""

from datetime import date

import pytest

from spark_app.ingest.run import ingest
from spark_app.sim.faults import FleetSpec, feed_records, simulate_faults
from spark_app.sim.feed import SimulatedFeed
from tests.support.ingest import (
    clear_days,
    cursor_of,
    days_of,
    expected_keys,
    fault_keys,
    ingest_config,
    rejections,
)

PAGE_SIZE = 100


@pytest.fixture(scope="module")
def quick(cassandra):
    """The suite's configuration with quick retries."""
    return ingest_config()


def simulated(start: date, seed: int, faults_per_day: int = 500):
    faults = simulate_faults(FleetSpec(serials=100, models=3, days=2, start=start,
                                       faults_per_day=faults_per_day, late_fraction=0.05), seed)
    return faults, feed_records(faults, 0.03, seed)


def test_every_page_is_followed_once_and_the_cursor_waits_at_the_end(cassandra, quick):
    faults, records = simulated(date(2004, 1, 1), seed=11)
    later_faults, later = simulated(date(2004, 1, 20), seed=12, faults_per_day=100)
    clear_days(cassandra, quick, days_of(faults) + days_of(later_faults))
    with SimulatedFeed(records.records, PAGE_SIZE) as feed:
        first = ingest(quick, [feed.url])
        assert first.exit_code == 0, first.text()
        assert (first.faults, first.rejected) == (records.good, 1000 - records.good)
        assert first.results[0].pages == 11, "ten full pages, then the empty one at the end"
        assert cursor_of(cassandra, feed.url) == f"{feed.url}?after=1000"
        assert fault_keys(cassandra, quick, days_of(faults)) == \
            expected_keys(faults, ~records.malformed)
        reasons = [reason for _, reason, _ in rejections(cassandra, feed.url)]
        assert len(reasons) == 1000 - records.good
        assert any("FMI must be a non-negative integer" in reason for reason in reasons)

        requests_before = len(feed.requests)
        again = ingest(quick, [feed.url])
        assert (again.faults, again.rejected, again.exit_code) == (0, 0, 0)
        assert feed.requests[requests_before:] == ["/Fleet/FaultCodes?after=1000"]

        feed.append(later.records)
        third = ingest(quick, [feed.url])
        assert (third.faults, third.rejected) == (later.good, 200 - later.good)
        assert cursor_of(cassandra, feed.url) == f"{feed.url}?after=1200"
        assert fault_keys(cassandra, quick, days_of(later_faults)) == \
            expected_keys(later_faults, ~later.malformed)


def test_a_malformed_page_is_rejected_and_the_cursor_stays_on_it(cassandra, quick):
    faults, records = simulated(date(2004, 2, 1), seed=13)
    clear_days(cassandra, quick, days_of(faults))
    with SimulatedFeed(records.records, PAGE_SIZE) as feed:
        feed.malformed_after.add(PAGE_SIZE)  # the second page comes cut in half
        failed = ingest(quick, [feed.url])
        assert failed.exit_code == 1
        assert "not well-formed XML" in failed.results[0].error
        broken_page = f"{feed.url}?after={PAGE_SIZE}"
        assert cursor_of(cassandra, feed.url) == broken_page
        assert failed.faults == PAGE_SIZE - int(records.malformed[:PAGE_SIZE].sum()), \
            "the first page only"
        (page_reject,) = [r for r in rejections(cassandra, feed.url) if r[0] == broken_page]
        assert page_reject[1].startswith("page refused: not well-formed XML")
        assert page_reject[2].startswith('<?xml version="1.0"')

        feed.malformed_after.clear()  # the provider fixes the page
        retried = ingest(quick, [feed.url])
        assert retried.exit_code == 0, retried.text()
        assert cursor_of(cassandra, feed.url) == f"{feed.url}?after=1000"
        assert fault_keys(cassandra, quick, days_of(faults)) == \
            expected_keys(faults, ~records.malformed)


def test_a_feed_answering_500_is_retried_until_it_recovers(cassandra, quick):
    faults, records = simulated(date(2004, 3, 1), seed=14, faults_per_day=100)
    with SimulatedFeed(records.records, PAGE_SIZE) as feed:
        feed.fail(2)  # retry_attempts is 3
        summary = ingest(quick, [feed.url])
        assert summary.exit_code == 0, summary.text()
        assert feed.requests[:3] == ["/Fleet/FaultCodes"] * 3
        assert summary.faults == records.good
        assert cursor_of(cassandra, feed.url) == f"{feed.url}?after=200"


def test_a_feed_failing_for_good_leaves_the_cursor_unchanged(cassandra, quick):
    _, records = simulated(date(2004, 4, 1), seed=15, faults_per_day=100)
    _, later = simulated(date(2004, 4, 3), seed=16, faults_per_day=100)
    with SimulatedFeed(records.records, PAGE_SIZE) as feed:
        feed.fail(3)  # every attempt of the very first pull
        never = ingest(quick, [feed.url])
        assert never.exit_code == 1 and "HTTP 500" in never.results[0].error
        assert cursor_of(cassandra, feed.url) is None

        assert ingest(quick, [feed.url]).exit_code == 0
        feed.append(later.records)
        feed.fail(100)
        failed = ingest(quick, [feed.url])
        assert failed.exit_code == 1 and failed.faults == 0
        assert "still after 3 attempts" in failed.results[0].error
        assert cursor_of(cassandra, feed.url) == f"{feed.url}?after=200"


def test_timeouts_are_retried_and_then_fail_without_moving_the_cursor(cassandra):
    slow = ingest_config(FLEETWATCH_INGEST_FEED_TIMEOUT_S="1")
    _, records = simulated(date(2004, 5, 1), seed=17, faults_per_day=50)
    with SimulatedFeed(records.records, PAGE_SIZE) as feed:
        feed.delay(1, 3.0)  # the first request outlasts the timeout
        recovered = ingest(slow, [feed.url])
        assert recovered.exit_code == 0, recovered.text()
        assert recovered.faults == records.good

        feed.delay(3, 3.0)  # every attempt times out
        failed = ingest(slow, [feed.url])
        assert failed.exit_code == 1 and "timed out" in failed.results[0].error
        assert cursor_of(cassandra, feed.url) == f"{feed.url}?after=100"


def test_a_page_over_the_size_limit_is_rejected_unparsed(cassandra):
    small = ingest_config(FLEETWATCH_INGEST_MAX_PAGE_BYTES="4096",
                          FLEETWATCH_INGEST_MAX_REJECT_PAYLOAD_BYTES="1000")
    _, records = simulated(date(2004, 6, 1), seed=18, faults_per_day=50)
    with SimulatedFeed(records.records, PAGE_SIZE) as feed:
        failed = ingest(small, [feed.url])
        assert failed.exit_code == 1 and "ingest.max_page_bytes" in failed.results[0].error
        (reject,) = rejections(cassandra, feed.url)
        assert reject[2].endswith("more bytes]") and len(reject[2]) < 1100
        assert cursor_of(cassandra, feed.url) is None


def test_a_feed_nobody_answers_fails_after_the_retries(quick):
    with SimulatedFeed([]) as feed:
        url = feed.url  # a port that was just free, now closed again
    summary = ingest(quick, [url])
    assert summary.exit_code == 1 and "Connection refused" in summary.results[0].error

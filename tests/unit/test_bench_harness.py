"""`python -m bench` goes on past a failing section and records why it failed."""
import argparse
import json

import pytest

import bench.__main__ as harness


def test_a_section_that_raises_is_recorded_as_failed(monkeypatch):
    def not_written_yet(rows):
        raise AttributeError("module 'bench.ingest' has no attribute 'run'")

    monkeypatch.setitem(harness.RUNNERS, "p4", not_written_yet)
    entries = harness.run_section("p4", {"rows": 10})
    assert entries["p4.error"] == "AttributeError: module 'bench.ingest' has no attribute 'run'"
    assert entries["p4.parameters"] == {"rows": 10}


def test_a_section_without_its_figures_is_recorded_as_failed(monkeypatch):
    monkeypatch.setitem(harness.RUNNERS, "p4", lambda rows: {"driver_rows_s": 5.0})
    entries = harness.run_section("p4", {"rows": 10})
    assert entries["p4.error"].startswith("cannot report its figures: KeyError")
    assert entries["p4.driver_rows_s"] == 5.0


def test_a_section_with_its_figures_has_them_under_its_name(monkeypatch):
    monkeypatch.setitem(harness.RUNNERS, "p4",
                        lambda rows: {"driver_rows_s": 5.0, "driver_batched_rows_s": 6.0,
                                      "ingest_rows_s": 4.0})
    entries = harness.run_section("p4", {"rows": 10})
    assert "p4.error" not in entries
    assert (entries["p4.driver_rows_s"], entries["p4.ingest_rows_s"]) == (5.0, 4.0)


def test_only_keeps_the_usual_order_and_refuses_unknown_sections():
    assert harness._section_list("evaluator, p4,p1") == ["p1", "p4", "evaluator"]
    with pytest.raises(argparse.ArgumentTypeError):
        harness._section_list("p6")


def test_every_scale_sizes_every_section():
    for scale in harness.SCALES.values():
        assert set(scale) == set(harness.RUNNERS)


def test_update_reruns_one_section_and_keeps_the_others(monkeypatch, tmp_path):
    earlier = {"scale": "smoke", "commit": "abc", "date": "2026-11-23T23:00:00+00:00",
               "machine.cores": 2, "p1.floor_s": 2.0, "p1.thesis_s": 9.0,
               "p1.fleetwatch_s": 3.0, "p4.error": "Py4JJavaError: timed out",
               "p4.parameters": {"rows": 2000, "repeat": 1}}
    (tmp_path / "results.json").write_text(json.dumps(earlier))
    monkeypatch.setitem(harness.RUNNERS, "p4", lambda rows, repeat: {
        "driver_rows_s": 5.0, "driver_batched_rows_s": 6.0, "ingest_rows_s": 4.0})
    assert harness.main(["--scale", "smoke", "--only", "p4", "--update",
                         "--out", str(tmp_path)]) == 0
    results = json.loads((tmp_path / "results.json").read_text())
    assert (results["p1.floor_s"], results["commit"], results["machine.cores"]) == (2.0, "abc", 2)
    assert "p4.error" not in results and results["p4.ingest_rows_s"] == 4.0
    assert results["p4.rerun"]["commit"] != "abc"
    report = (tmp_path / "BENCHMARKS.md").read_text()
    assert "at commit `abc`" in report and "Rerun alone" in report and "Failed" not in report


def test_update_refuses_results_of_another_scale(tmp_path):
    (tmp_path / "results.json").write_text(json.dumps({"scale": "full"}))
    with pytest.raises(SystemExit, match="scale 'full'"):
        harness.main(["--scale", "smoke", "--only", "p4", "--update", "--out", str(tmp_path)])


def test_a_run_stopped_in_a_later_section_keeps_the_sections_before_it(monkeypatch, tmp_path):
    monkeypatch.setattr(harness.machine, "describe", lambda: {"machine.cores": 2})
    monkeypatch.setitem(harness.RUNNERS, "p4", lambda rows, repeat: {
        "driver_rows_s": 5.0, "driver_batched_rows_s": 6.0, "ingest_rows_s": 4.0})

    def stopped(**_parameters):
        raise KeyboardInterrupt  # Ctrl-C, or the machine's time running out

    monkeypatch.setitem(harness.RUNNERS, "evaluator", stopped)
    with pytest.raises(KeyboardInterrupt):
        harness.main(["--scale", "smoke", "--only", "p4,evaluator", "--out", str(tmp_path)])
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["p4.ingest_rows_s"] == 4.0
    assert not any(key.startswith("evaluator.") for key in results)
    assert "## P4" in (tmp_path / "BENCHMARKS.md").read_text()

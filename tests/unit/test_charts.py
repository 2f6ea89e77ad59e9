from datetime import date

from spark_app.common.charts import to_png, violations_per_day

DAYS = [date(2016, 11, 17), date(2016, 11, 18), date(2016, 11, 19)]


def test_every_day_asked_for_is_on_the_axis_even_without_violations():
    spec = violations_per_day([{"day": date(2016, 11, 18), "severity": "critical",
                                "violations": 4}], DAYS).to_dict()
    assert spec["encoding"]["x"]["scale"]["domain"] == ["2016-11-17", "2016-11-18", "2016-11-19"]
    assert spec["data"]["values"] == [{"day": "2016-11-18", "severity": "critical",
                                       "violations": 4}]
    assert spec["encoding"]["color"]["scale"]["domain"] == ["critical", "warning", "info"]


def test_png_is_rendered_without_a_browser():
    png = to_png(violations_per_day([{"day": date(2016, 11, 17), "severity": "info",
                                      "violations": 1}], DAYS))
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width = int.from_bytes(png[16:20], "big")
    assert 400 < width < 800

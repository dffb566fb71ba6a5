"""Reading compute units and durations out of the spec's description tables."""

from __future__ import annotations

from playground.catalog.from_openapi import cost_and_time, parse_markdown_table, sizing_kind


def test_cost_and_time_with_duration(spec):
    description = spec["paths"]["/generate/image/bfl/flux-1-dev"]["post"]["description"]
    assert cost_and_time(description) == (3.0, 7.0, None)


def test_per_resolution_table_takes_1k_and_notes_the_rest(spec):
    description = spec["paths"]["/generate/image/google/nano-banana-2"]["post"]["description"]
    cu, seconds, note = cost_and_time(description)
    assert (cu, seconds) == (34.4, None)
    assert "2K: 57.8" in note and "4K: 86.5" in note


def test_long_table_gives_a_range(spec):
    description = spec["paths"]["/generate/image/luma/uni-1"]["post"]["description"]
    cu, _, note = cost_and_time(description)
    assert cu == 23.1
    assert "23.1 to 72.7" in note


def test_no_table():
    assert cost_and_time("New frontier model designed for image editing") == (None, None, None)
    assert parse_markdown_table("") == []


def test_table_parsing_stops_at_the_table_end():
    rows = parse_markdown_table("intro\n| A | B |\n|---|---|\n| 1 | 2 |\n> quote\n| 3 | 4 |")
    assert rows == [{"A": "1", "B": "2"}]


def test_sizing_kind_of_a_model_without_size_fields(catalog):
    assert sizing_kind(catalog.get("bytedance/seededit").params) == "none"

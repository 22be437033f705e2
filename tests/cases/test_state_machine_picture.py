"""The state-machine picture is drawn from the code and the committed copy matches it."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from collections_app.case_rules import ACTIVE_MEASURES, MOVE_TARGETS, sources_of
from collections_app.graph import to_dot, to_svg, transition_edges

DOCS = Path(__file__).resolve().parents[2] / "docs"


def test_the_committed_picture_matches_the_transitions_in_the_code():
    assert (DOCS / "state-machine.dot").read_text() == to_dot(), "run: manage.py case_graph"
    assert (DOCS / "state-machine.svg").read_text() == to_svg(), "run: manage.py case_graph"
    assert (DOCS / "state-machine.zh-hans.svg").read_text() == to_svg(language="zh-hans"), "run: manage.py case_graph"
    call_command("case_graph", "--check")


def test_the_check_fails_when_the_picture_is_stale(tmp_path, monkeypatch):
    from collections_app.management.commands import case_graph

    monkeypatch.setattr(case_graph, "DOCS", tmp_path)
    with pytest.raises(CommandError, match="out of date"):
        call_command("case_graph", "--check")
    call_command("case_graph")
    call_command("case_graph", "--check")


def test_the_drawn_edges_are_exactly_the_allowed_moves():
    drawn = {(e.source.value, e.target.value) for e in transition_edges()}
    allowed = {(s.value, t.value) for t in MOVE_TARGETS for s in sources_of(t)}
    assert drawn == allowed
    # forward only between measures
    rank = {m.value: i for i, m in enumerate(ACTIVE_MEASURES)}
    assert all(rank[t] > rank[s] for s, t in drawn if s in rank and t in rank)


def test_the_case_page_picture_highlights_the_current_measure():
    svg = to_svg(current="legal")
    assert 'class="sm-node sm-current" data-state="legal"' in svg
    assert svg.count("sm-current") == 1


def test_the_picture_speaks_the_page_language_and_shows_no_method_names():
    chinese = to_svg(current="legal", language="zh-hans")
    for word in ("责任清收", "协同清收", "依法清收", "专班清收", "施压清收", "处置清收", "已核销"):
        assert word in chinese, word
    assert "Responsibility" not in chinese and "to_legal" not in chinese
    english = to_svg(language="en")
    assert "1 Responsibility" in english and "to_legal" not in english

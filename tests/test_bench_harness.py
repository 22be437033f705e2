"""The benchmark harness reports what it measured: the median of per-trial ratios."""

from __future__ import annotations

import pytest

from bench.common import make_figure


def test_a_figure_is_the_median_of_its_per_trial_ratios_not_the_ratio_of_medians():
    # Trials: 10/5 = 2, 2/2 = 1, 9/3 = 3 -> median 2 (the ratio of the medians would be 9/3 = 3).
    figure = make_figure("bench", "work", seconds=[10, 2, 9], references={"UPDATE": [5, 2, 3], "COPY": [1, 1, 1]})
    assert figure.seconds == 9
    assert figure.ratio == 2
    assert [r.ratio for r in figure.references] == [2, 9]
    assert figure.references[0].trial_ratios == [2, 1, 3]


def test_a_reference_needs_a_time_for_every_trial():
    with pytest.raises(ValueError, match="3 trials but 2 of reference"):
        make_figure("bench", "work", seconds=[1, 2, 3], references={"UPDATE": [1, 2]})

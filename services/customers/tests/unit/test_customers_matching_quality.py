"""The two figures of the labelled set (tests/data/matching_pairs.csv), checked on every `make test`.

'Caught', precisely (customers.quality): a pair labelled ``block`` is caught when the entry of
customer B is refused because of customer A (a shared phone, contacts' phones included, or
equal name keys that `blocks_same_name`); a pair labelled ``flag`` is caught when B is not
refused and the fuzzy scan both finds A among B's candidates through the indexed keys and
suspects the pair (score ≥ 85). A flag pair that is blocked is not caught, and counts against
the precision of blocks. Pairs labelled ``allow`` must never be blocked; whether they are
flagged is not scored.
"""

from collections import Counter

import pytest

from customers import quality


@pytest.fixture(scope="module")
def pairs():
    return quality.load_pairs()


def test_the_labelled_set_covers_every_kind_of_pair_asked_for(pairs):
    assert len(pairs) >= 300
    categories = Counter(pair.category for pair in pairs)
    for category in (
        "legal_form", "region_one_side", "region_same", "region_suffix", "different_city", "branch",
        "group", "homophone", "traditional", "english", "full_width", "phone", "contact_phone",
        "different_company",
    ):  # fmt: skip
        assert categories[category] >= 10, category
    assert {pair.label for pair in pairs} == {"block", "flag", "allow"}
    assert all(pair.reason for pair in pairs)


def test_no_pair_labelled_allow_or_flag_is_blocked(pairs):
    figures = quality.measure(pairs)
    assert figures.wrongly_blocked == [], quality.report(figures)
    assert figures.block_precision == 1.0


def test_at_least_95_percent_of_block_and_flag_pairs_are_caught(pairs):
    figures = quality.measure(pairs)
    assert figures.caught_share >= quality.REQUIRED_CAUGHT, quality.report(figures)


def test_the_measure_can_fail():
    wrong = quality.Pair("深圳市恒发五金有限公司", "", "恒发五金有限公司", "", "allow", "labelled wrong", "x")
    missed = quality.Pair("恒发五金有限公司", "", "天成机械有限公司", "", "flag", "labelled wrong", "x")
    figures = quality.measure([wrong, missed])
    assert figures.block_precision == 0.0 and figures.caught_share == 0.0
    assert len(figures.wrongly_blocked) == 1 and len(figures.missed) == 1

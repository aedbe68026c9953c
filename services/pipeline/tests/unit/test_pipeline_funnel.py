import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipeline.funnel import PILE_UP, PROSPECT, PUSH, FunnelStage, advise, compare_team
from pipeline.stages import DEFAULT_STAGES

OPEN_STAGES = DEFAULT_STAGES[:-1]


def _funnel(*counts, stages=OPEN_STAGES):
    return [(s.key, s.name, s.probability, count) for s, count in zip(stages, counts, strict=False)]


def _moves(advice):
    return [(a.kind, a.from_stage, a.to_stage, a.count) for a in advice]


def test_source_funnel_gets_fill_the_top_push_into_50_and_close_the_pile_up_at_90():
    advice = advise(_funnel(10, 50, 60, 10, 20, 40))

    assert _moves(advice) == [
        (PILE_UP, "s90", "s100", 20),
        (PUSH, "s25", "s50", 10),
        (PROSPECT, None, "s0", 40),
    ]
    assert "把90%阶段的40个客户中的20个推进到100%" in advice[0].message
    assert "把25%阶段的60个客户中的10个推进到50%" in advice[1].message
    assert "新开发40个客户" in advice[2].message


@pytest.mark.parametrize(
    "counts",
    [(60, 50, 40, 30, 20, 10), (20, 20, 20, 20, 20, 20), (100, 30, 30, 5, 1, 0), (0, 0, 0, 0, 0, 0), (7,)],
)
def test_narrowing_funnel_gets_no_advice(counts):
    assert advise(_funnel(*counts)) == []


def test_thin_top_over_a_narrowing_rest_only_needs_prospecting():
    advice = advise(_funnel(5, 20, 15, 10, 5, 2))
    assert _moves(advice) == [(PROSPECT, None, "s0", 15)]
    assert "0%阶段（潜在客户）只有5个客户" in advice[0].message


def test_stage_outgrowing_the_top_is_answered_by_prospecting_not_by_pushing_on():
    assert _moves(advise(_funnel(5, 200, 10))) == [(PROSPECT, None, "s0", 195)]


def test_starved_stage_is_fed_from_above_and_the_rest_of_its_gap_pushed_on():
    advice = advise(_funnel(100, 80, 20, 60, 10))
    assert _moves(advice) == [
        (PILE_UP, "s50", "s75", 10),  # 60 → 50 at 50 %, and 75 % rises only to 20
        (PUSH, "s10", "s25", 30),  # 80 → 50 and 20 → 50: never below the stage it feeds
    ]
    assert advice[1].message.startswith("25%阶段（样品）只有20个客户")


def test_pile_up_at_the_last_open_stage_closes_to_the_won_stage_given_in_the_funnel():
    stages = [
        ("lead", "线索", 0, 30),
        ("talk", "洽谈", 30, 30),
        ("deal", "报价", 60, 45),
        ("won", "成交", 100, 999),
    ]
    advice = advise(stages)
    assert _moves(advice) == [(PILE_UP, "deal", "won", 15)]
    assert "推进到100%（成交）" in advice[0].message


def test_pile_up_is_not_pushed_on_into_a_stage_that_would_become_the_next_pile_up():
    advice = advise(_funnel(10, 20, 30, 40))
    assert (PILE_UP, "s10", "s25", 10) not in _moves(advice)
    assert (PILE_UP, "s25", "s50", 10) not in _moves(advice)
    assert _moves(advice) == [(PILE_UP, "s50", "s100", 10), (PROSPECT, None, "s0", 20)]


def test_funnel_stage_records_work_as_input_like_tuples():
    counts = (10, 50, 60, 10, 20, 40)
    stages = [FunnelStage(s.key, s.name, s.probability, c) for s, c in zip(OPEN_STAGES, counts, strict=True)]
    assert advise(stages) == advise(_funnel(*counts))


@pytest.mark.parametrize(
    "stages",
    [
        [("a", "A", 10, 1), ("b", "B", 10, 1)],
        [("a", "A", 50, 1), ("b", "B", 25, 1)],
        [("a", "A", 0, 1), ("b", "B", 25, -1)],
    ],
    ids=["equal-probabilities", "falling-probabilities", "negative-count"],
)
def test_malformed_funnel_is_refused(stages):
    with pytest.raises(ValueError):
        advise(stages)


def _apply(counts, advice):
    """The funnel's counts once the advice is carried out (deals pushed to s100 leave the funnel)."""
    keys = [s.key for s in OPEN_STAGES[: len(counts)]]
    after = dict(zip(keys, counts, strict=True))
    for item in advice:
        if item.from_stage is not None:
            after[item.from_stage] -= item.count
        if item.to_stage in after:
            after[item.to_stage] += item.count
    return [after[key] for key in keys]


def _inversion(counts):
    return sum(max(0, below - above) for above, below in zip(counts, counts[1:], strict=False))


_counts = st.lists(st.integers(0, 200), min_size=1, max_size=6)


@given(_counts)
def test_advice_only_moves_deals_that_are_there_and_never_adds_a_pile_up(counts):
    advice = advise(_funnel(*counts))
    after = _apply(counts, advice)
    by_key = dict(zip((s.key for s in OPEN_STAGES), counts, strict=False))

    assert all(item.count > 0 for item in advice)
    assert all(item.count <= by_key[item.from_stage] for item in advice if item.from_stage)
    assert min(after) >= 0
    assert after[0] == max(after)  # the top is the widest once the advice is done
    without_prospect = _apply(counts, [a for a in advice if a.kind != PROSPECT])
    assert _inversion(without_prospect) <= _inversion(counts)


@given(_counts)
def test_advice_has_one_item_per_move_and_prospecting_comes_last(counts):
    advice = advise(_funnel(*counts))
    moves = [(a.from_stage, a.to_stage) for a in advice]
    assert len(moves) == len(set(moves))
    kinds = [a.kind for a in advice]
    assert PROSPECT not in kinds[:-1]


@given(st.lists(st.integers(0, 200), min_size=1, max_size=6).map(lambda c: sorted(c, reverse=True)))
def test_any_narrowing_funnel_gets_no_advice(counts):
    assert advise(_funnel(*counts)) == []


@given(st.integers(0, 200), st.lists(st.integers(0, 200), min_size=1, max_size=5))
def test_thin_top_over_any_narrowing_rest_gets_just_enough_prospecting(top, rest):
    rest = sorted(rest, reverse=True)
    advice = advise(_funnel(top, *rest))
    if top < rest[0]:
        assert _moves(advice) == [(PROSPECT, None, "s0", rest[0] - top)]
    else:
        assert advice == []


# --- team view --------------------------------------------------------------------------------------


def test_team_view_shows_median_and_who_is_far_off_it_per_stage():
    team = {
        "wang": _funnel(40, 30, 20, 10, 5, 2),
        "li": _funnel(42, 28, 2, 11, 6, 1),
        "zhao": _funnel(38, 31, 21, 30, 4, 2),
    }
    comparison = {row.stage_key: row for row in compare_team(team)}

    assert [row.stage_key for row in compare_team(team)] == [s.key for s in OPEN_STAGES]
    assert comparison["s25"].median == 20
    assert comparison["s25"].far_below == ("li",)
    assert comparison["s25"].far_above == ()
    assert comparison["s50"].far_above == ("zhao",)
    assert comparison["s0"].far_below == comparison["s0"].far_above == ()
    assert comparison["s90"].counts == {"wang": 2, "li": 1, "zhao": 2}


def test_team_view_does_not_flag_a_difference_of_a_deal_or_two():
    team = {"wang": _funnel(1, 0), "li": _funnel(0, 0), "zhao": _funnel(0, 2)}
    assert all(not row.far_above and not row.far_below for row in compare_team(team))


def test_owner_without_a_stage_counts_zero_there():
    team = {"wang": _funnel(10, 10), "li": _funnel(10, 10, 10)}
    s25 = {row.stage_key: row for row in compare_team(team)}["s25"]
    assert s25.counts == {"wang": 0, "li": 10}


def test_team_funnels_from_different_stage_sets_are_refused():
    with pytest.raises(ValueError):
        compare_team({"wang": [("s50", "认可", 50, 3)], "li": [("s50", "认可", 60, 3)]})

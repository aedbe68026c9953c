from dataclasses import replace

import pytest

from pipeline.domain import find_stage
from pipeline.exceptions import UnknownStage
from pipeline.stages import (
    DEFAULT_STAGES,
    Stage,
    StageSetInvalid,
    validate_stage_set,
    won_stage,
)


def test_default_stages_are_the_sources_seven():
    assert [(s.probability, s.name) for s in DEFAULT_STAGES] == [
        (0, "潜在客户"),
        (10, "意向客户"),
        (25, "样品"),
        (50, "认可"),
        (75, "接受价格"),
        (90, "签约"),
        (100, "稳定供货"),
    ]
    assert validate_stage_set(DEFAULT_STAGES) == DEFAULT_STAGES


def test_won_stage_is_the_last_at_100_percent():
    assert won_stage(DEFAULT_STAGES).is_won
    assert won_stage(DEFAULT_STAGES).key == "s100"
    assert not DEFAULT_STAGES[-2].is_won


def test_a_stage_is_found_by_its_key_even_after_its_probability_changed():
    edited = [replace(s, probability=30) if s.key == "s25" else s for s in DEFAULT_STAGES]
    assert find_stage(validate_stage_set(edited), "s25").probability == 30
    with pytest.raises(UnknownStage):
        find_stage(DEFAULT_STAGES, "s33")


def _with(index, **changes):
    stages = list(DEFAULT_STAGES)
    stages[index] = replace(stages[index], **changes)
    return stages


@pytest.mark.parametrize(
    ("stages", "field"),
    [
        ([Stage("s100", "成交", 100, False)], "stages"),
        ([], "stages"),
        (_with(3, probability=25), "stages[3].probability"),
        (_with(3, probability=20), "stages[3].probability"),
        (_with(0, probability=-5), "stages[0].probability"),
        (_with(6, probability=101), "stages[6].probability"),
        (_with(6, probability=95), "stages[6].probability"),
        (_with(2, probability=True), "stages[2].probability"),
        (_with(4, name="认可"), "stages[4].name"),
        (_with(4, name="   "), "stages[4].name"),
        (_with(4, key="s50"), "stages[4].key"),
        (_with(4, key="Stage 75!"), "stages[4].key"),
        (_with(6, in_forecast=True), "stages[6].in_forecast"),
    ],
    ids=[
        "one-stage",
        "empty",
        "equal-probability",
        "decreasing-probability",
        "below-zero",
        "above-hundred",
        "last-not-won",
        "bool-probability",
        "duplicate-name",
        "blank-name",
        "duplicate-key",
        "malformed-key",
        "won-stage-in-forecast",
    ],
)
def test_invalid_stage_set_is_refused_with_the_field_at_fault(stages, field):
    with pytest.raises(StageSetInvalid) as refused:
        validate_stage_set(stages)
    assert field in refused.value.details
    assert all(refused.value.details[field])


def test_every_problem_is_reported_at_once_and_the_error_is_a_value_error():
    stages = _with(3, probability=20)
    stages[5] = replace(stages[5], name="样品")
    with pytest.raises(ValueError) as refused:
        validate_stage_set(stages)
    assert isinstance(refused.value, StageSetInvalid)
    assert set(refused.value.details) == {"stages[3].probability", "stages[5].name"}


def test_a_two_stage_set_is_enough():
    stages = [Stage("open", "跟进中", 40, True), Stage("won", "成交", 100, False)]
    assert validate_stage_set(stages) == tuple(stages)

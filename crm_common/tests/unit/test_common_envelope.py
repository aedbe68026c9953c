"""The one envelope schema every event handler applies before it runs."""

import pytest

from crm_common.events import envelope_problem

GOOD = {
    "event_id": "5b0c1c1e-8f1e-4c59-9d8e-6c1f7d1c2a11",
    "event_type": "customer_created",
    "source": "customers",
    "occurred_at": "2026-11-26T08:00:00+00:00",
    "version": 1,
    "data": {"customer_id": 7},
}


def test_an_envelope_passes_and_may_carry_more_fields():
    assert envelope_problem(GOOD) is None
    assert envelope_problem({**GOOD, "trace": "abc", "data": {}}) is None


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ({k: v for k, v in GOOD.items() if k != "event_id"}, "event_id: Missing data for required field."),
        ({k: v for k, v in GOOD.items() if k != "data"}, "data: Missing data for required field."),
        ({**GOOD, "data": [1]}, "data: Not a valid mapping type."),
        ({**GOOD, "data": None}, "data: Field may not be null."),
        ({**GOOD, "version": "1"}, "version: Not a valid integer."),
        ({**GOOD, "version": 2}, "version: Must be equal to 1."),
        ({**GOOD, "event_id": ""}, "event_id: Length must be between 1 and 64."),
        ({**GOOD, "event_id": "x" * 65}, "event_id: Length must be between 1 and 64."),
        ({**GOOD, "occurred_at": "2026-11-26T08:00:00"}, "occurred_at: Not a valid aware datetime."),
        ([GOOD], "the body is a JSON list, not an object"),
        ("customer_created", "the body is a JSON str, not an object"),
    ],
)
def test_what_is_not_an_envelope_is_named(body, problem):
    assert envelope_problem(body) == problem

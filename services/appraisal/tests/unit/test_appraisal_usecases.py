"""Evidence use cases on the fake store (no broker, no database)."""

from appraisal_fakes import FakeStore, check_store


def test_evidence_is_recorded_once_and_counted_by_period():
    check_store(FakeStore())

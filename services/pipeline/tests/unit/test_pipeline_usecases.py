"""The use cases of stage sets, deals and targets without a broker or a database (the fake store);
service/test_pipeline_store_contract.py runs the same checks on the real Store."""

from pipeline_fakes import FakeStore, check_store


def test_use_cases_on_the_fake_store():
    store = FakeStore()
    check_store(store)
    kinds = [kind for kind, _ in store.events]
    assert kinds == [
        "opportunity_created",
        "opportunity_stage_changed",
        "opportunity_created",
        "opportunity_won",
        "opportunity_lost",
        "target_set",
        "target_set",
        "target_set",
    ]
    assert store.events[1][1]["changed_by_name"] == "王芳"

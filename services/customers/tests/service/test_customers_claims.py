"""Ownership disputes: claims name a contact and its decision level; the manager settles."""

import pytest

from crm_common.errors import Conflict, Forbidden
from customers.exceptions import AlreadyDecided, ClaimExists


@pytest.fixture
def disputed(as_user, users, new_customer):
    """李娜 owns the customer and deals with the purchasing manager (level 3)."""
    contacts = [{"name": "采购李经理", "title": "采购经理", "phone": None, "decision_level": 3}]
    with as_user(users.lina) as service:
        return service.create_customer(new_customer("宏图包装材料有限公司", contacts=contacts))


def test_a_claim_with_a_more_senior_contact_is_proposed_and_wins(as_user, users, disputed, events):
    with as_user(users.zhang) as service:
        claim = service.claim_customer(
            disputed["id"], {"contact_name": "刘总", "decision_level": 5, "reason": "我一直对接老板"}
        )
    assert claim["status"] == "open" and claim["claimant_name"] == "张伟"
    events.wait_for("customer_claimed", claim_id=claim["id"], team="east")

    with as_user(users.wang) as service:
        [dispute] = service.list_disputes()
        assert dispute["owner_standing"]["contact_name"] == "采购李经理"
        assert dispute["proposed_winner_id"] == users.zhang["id"] and "刘总" in dispute["proposal_reason"]
        resolved = service.resolve_dispute(dispute["id"], {"note": "老板亲自对接"})
        customer = service.get_customer(disputed["id"])
        history = service.get_history(disputed["id"])
    assert resolved["status"] == "resolved" and resolved["winner_id"] == users.zhang["id"]
    assert [c["status"] for c in resolved["claims"]] == ["won"]
    assert customer["owner_id"] == users.zhang["id"] and customer["owner_name"] == "张伟"
    change = history["ownership_changes"][-1]
    assert (change["from_owner_name"], change["to_owner_name"], change["reason"]) == ("李娜", "张伟", "claim")
    assert change["changed_by_name"] == "王经理" and change["note"] == "老板亲自对接"
    assert [c["claimant_name"] for c in history["claims"]] == ["张伟"]

    transferred = events.wait_for("customer_transferred", customer_id=disputed["id"])
    assert transferred["data"]["from_owner_id"] == users.lina["id"]
    assert (
        transferred["data"]["to_owner_id"] == users.zhang["id"] and transferred["data"]["reason"] == "claim"
    )


def test_a_tie_goes_to_the_owner_who_entered_first_and_every_claim_is_kept(as_user, users, disputed):
    with as_user(users.zhang) as service:
        service.claim_customer(disputed["id"], {"contact_name": "采购王经理", "decision_level": 3})
    with as_user(users.liu) as service:
        service.claim_customer(disputed["id"], {"contact_name": "前台小周", "decision_level": 1})
    with as_user(users.wang) as service:
        [dispute] = service.list_disputes()
        assert dispute["proposed_winner_id"] == users.lina["id"] and "先录入" in dispute["proposal_reason"]
        resolved = service.resolve_dispute(dispute["id"])
        customer = service.get_customer(disputed["id"])
        with pytest.raises(AlreadyDecided):
            service.resolve_dispute(dispute["id"])
    assert customer["owner_id"] == users.lina["id"]
    assert [(c["claimant_name"], c["status"]) for c in resolved["claims"]] == [
        ("张伟", "lost"),
        ("刘洋", "lost"),
    ]


def test_the_manager_may_overrule_the_proposal(as_user, users, disputed):
    with as_user(users.zhang) as service:
        service.claim_customer(disputed["id"], {"contact_name": "小周", "decision_level": 1})
    with as_user(users.wang) as service:
        [dispute] = service.list_disputes()
        resolved = service.resolve_dispute(
            dispute["id"], {"winner_id": users.zhang["id"], "note": "李娜已离职"}
        )
    assert resolved["winner_id"] == users.zhang["id"] and resolved["proposed_winner_id"] == users.lina["id"]


def test_claims_that_make_no_sense_are_refused(as_user, users, disputed):
    with as_user(users.lina) as service, pytest.raises(Conflict):
        service.claim_customer(disputed["id"], {"contact_name": "x", "decision_level": 2})
    with as_user(users.zhang) as service:
        service.claim_customer(disputed["id"], {"contact_name": "刘总", "decision_level": 5})
        with pytest.raises(ClaimExists):
            service.claim_customer(disputed["id"], {"contact_name": "刘总", "decision_level": 5})
        with pytest.raises(Forbidden):
            service.list_disputes()
    with as_user(users.wang) as service:
        [dispute] = service.list_disputes()
    with as_user(users.zhao) as service:
        assert service.list_disputes() == []
        with pytest.raises(Forbidden):
            service.resolve_dispute(dispute["id"])

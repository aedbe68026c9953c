"""The referral tree: who introduced whom, below and above, never looping."""

import pytest

from crm_common.errors import InvalidInput
from customers.exceptions import ReferralCycle


@pytest.fixture
def chain(as_user, users, new_customer):
    """A referred B and C; B referred D."""
    with as_user(users.lina) as service:
        a = service.create_customer(new_customer("甲方科技有限公司"))
        b = service.create_customer(new_customer("乙方贸易有限公司", referred_by=a["id"]))
        c = service.create_customer(new_customer("丙方机械有限公司", referred_by=a["id"]))
        d = service.create_customer(new_customer("丁方物流有限公司", referred_by=b["id"]))
    return a, b, c, d


def test_the_tree_below_and_the_chain_above_are_shown_with_names(as_user, users, chain):
    a, b, c, d = chain
    with as_user(users.lina) as service:
        below = service.get_referrals(a["id"])
        above = service.get_referrals(d["id"])
    assert below["name"] == "甲方科技有限公司" and below["referrers"] == []
    assert [(child["name"], [g["name"] for g in child["children"]]) for child in below["children"]] == [
        ("乙方贸易有限公司", ["丁方物流有限公司"]),
        ("丙方机械有限公司", []),
    ]
    assert [r["customer_id"] for r in above["referrers"]] == [b["id"], a["id"]]
    assert above["referrers"][0]["owner"] == "李娜" and above["cycle_detected"] is False


def test_the_tree_is_cut_at_the_requested_depth_and_says_so(as_user, users, chain):
    a, b, *_ = chain
    with as_user(users.lina) as service:
        shallow = service.get_referrals(a["id"], {"depth": 1})
    assert [child["customer_id"] for child in shallow["children"]] == [b["id"], chain[2]["id"]]
    assert shallow["children"][0]["truncated"] is True and shallow["children"][0]["children"] == []


def test_an_amendment_that_would_close_a_referral_loop_is_refused(as_user, users, chain):
    a, _b, _c, d = chain
    with as_user(users.lina) as service:
        with pytest.raises(ReferralCycle):
            service.request_amendment(a["id"], {"changes": {"referred_by": d["id"]}, "reason": "丁介绍了甲"})
        with pytest.raises(ReferralCycle):
            service.request_amendment(a["id"], {"changes": {"referred_by": a["id"]}, "reason": "自己"})
        with pytest.raises(InvalidInput):
            service.request_amendment(a["id"], {"changes": {"referred_by": 9999}, "reason": "不存在"})


def test_a_loop_that_appears_while_an_amendment_waits_is_refused_at_approval(as_user, users, new_customer):
    with as_user(users.lina) as service:
        x = service.create_customer(new_customer("某甲工贸有限公司"))
        y = service.create_customer(new_customer("某乙工贸有限公司"))
        x_by_y = service.request_amendment(x["id"], {"changes": {"referred_by": y["id"]}, "reason": "乙介绍"})
        y_by_x = service.request_amendment(y["id"], {"changes": {"referred_by": x["id"]}, "reason": "甲介绍"})
    with as_user(users.wang) as service:
        service.approve_amendment(x["id"], x_by_y["id"])
        with pytest.raises(ReferralCycle):
            service.approve_amendment(y["id"], y_by_x["id"])
        tree = service.get_referrals(y["id"])
    assert [child["customer_id"] for child in tree["children"]] == [x["id"]] and tree[
        "cycle_detected"
    ] is False

"""Who uses the console in the browser tests, and the test system's settings."""

# one escalation "minute" lasts this many seconds in these tests
ESCALATION_MINUTE_SECONDS = 6

PEOPLE = {
    "wang": {"display_name": "王经理", "role": "manager", "phone": "+8613800000001"},
    "zhang": {"display_name": "张三", "role": "sales", "phone": "+8613800000002", "manager": "wang"},
    "li": {"display_name": "李四", "role": "sales", "phone": "+8613800000003", "manager": "wang"},
    "wu": {"display_name": "吴六", "role": "sales", "phone": "+8613800000004", "manager": "wang"},
}


def password(username: str) -> str:
    return f"pw-{username}-2026"

import pytest

from crm_common.localtime import DEFAULT_TIMEZONE, timezone_name, zone


def test_the_configured_zone_or_the_default():
    assert timezone_name({}) == DEFAULT_TIMEZONE == "Asia/Shanghai"
    assert timezone_name({"TIMEZONE": ""}) == DEFAULT_TIMEZONE
    assert timezone_name({"TIMEZONE": "Asia/Urumqi"}) == "Asia/Urumqi"
    assert zone({"TIMEZONE": "Asia/Urumqi"}).key == "Asia/Urumqi"


@pytest.mark.parametrize("name", ["Asia/Shangai", "../etc/passwd", "UTC+8"])
def test_a_name_the_zone_database_does_not_know_stops_the_service(name):
    with pytest.raises(ValueError, match="is not a time zone name"):
        timezone_name({"TIMEZONE": name})

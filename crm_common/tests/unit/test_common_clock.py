"""The services' clock, moved by a file in tests across real processes (CRM_CLOCK_OFFSET_FILE)."""

import os
from datetime import timedelta

from crm_common.clock import SystemClock, utcnow


def close_to(moment, expected) -> bool:
    return abs(moment - expected) < timedelta(seconds=5)


def test_without_a_file_the_clock_is_the_real_time(monkeypatch):
    monkeypatch.delenv("CRM_CLOCK_OFFSET_FILE", raising=False)
    clock = SystemClock()
    assert clock.offset_file is None and close_to(clock.now(), utcnow())


def test_the_clock_follows_the_file_each_time_it_changes(tmp_path, caplog):
    path = tmp_path / "offset"
    clock = SystemClock(str(path))
    assert close_to(clock.now(), utcnow())  # no file yet: the real time
    path.write_text("-86400\n")
    assert close_to(clock.now(), utcnow() - timedelta(days=1))
    scratch = tmp_path / "offset.tmp"
    scratch.write_text(str(31 * 86400))
    os.replace(scratch, path)
    assert close_to(clock.now(), utcnow() + timedelta(days=31))
    scratch.write_text("a month\n")
    os.replace(scratch, path)
    assert close_to(clock.now(), utcnow() + timedelta(days=31))  # unreadable: keeps its offset
    assert "unreadable" in caplog.text


def test_the_environment_names_the_file(tmp_path, monkeypatch):
    path = tmp_path / "offset"
    path.write_text("3600")
    monkeypatch.setenv("CRM_CLOCK_OFFSET_FILE", str(path))
    assert close_to(SystemClock().now(), utcnow() + timedelta(hours=1))

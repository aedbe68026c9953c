"""handle_once names a handler by the service class and the method, wherever the method is written."""

from crm_common.events import handle_once


class Marks:
    def __init__(self):
        self.seen = set()

    def first_delivery(self, event_id, handler):
        key = (event_id, handler)
        new = key not in self.seen
        self.seen.add(key)
        return new


class PoolEntrypoints:
    @handle_once
    def on_won(self, event):
        self.handled.append(event["event_id"])


class SalesService(PoolEntrypoints):
    def __init__(self):
        self.db = Marks()
        self.handled = []


def test_a_handler_of_a_mixin_is_marked_with_the_service_class_and_runs_once():
    service = SalesService()
    service.on_won({"event_id": "e-1"})
    service.on_won({"event_id": "e-1"})
    assert service.handled == ["e-1"]
    assert service.db.seen == {("e-1", "SalesService.on_won")}


class ScannerService:
    """Took ``on_won`` over from SalesService (a process of its own): its marks keep that name."""

    handled_as = "SalesService"
    on_won = PoolEntrypoints.on_won

    def __init__(self, marks):
        self.db = marks
        self.handled = []


def test_a_handler_taken_over_by_another_class_skips_what_the_former_class_handled():
    before = SalesService()
    before.on_won({"event_id": "e-1"})  # handled (and marked) before the move, redelivered after it
    after = ScannerService(before.db)
    after.on_won({"event_id": "e-1"})
    after.on_won({"event_id": "e-2"})
    assert after.handled == ["e-2"]
    assert before.db.seen == {("e-1", "SalesService.on_won"), ("e-2", "SalesService.on_won")}

"""An ack lost with the broker connection is logged, not raised (raised, it stopped the service)."""

import pytest
from nameko.messaging import QueueConsumer

from crm_common.acks import tolerate_lost_acks


class MessageOnADeadSocket:
    class channel:  # noqa: N801 — nameko checks message.channel.connection before acking
        connection = object()

    def ack(self):
        raise BrokenPipeError(32, "Broken pipe")

    def requeue(self):
        raise ConnectionResetError(104, "Connection reset by peer")


def test_an_ack_or_requeue_on_a_dropped_connection_does_not_raise():
    tolerate_lost_acks()
    tolerate_lost_acks()  # installing twice wraps once
    consumer = QueueConsumer.__new__(QueueConsumer)
    consumer.ack_message(MessageOnADeadSocket())
    consumer.requeue_message(MessageOnADeadSocket())
    assert QueueConsumer.ack_message.__wrapped__.__name__ == "ack_message"
    assert not hasattr(QueueConsumer.ack_message.__wrapped__, "__wrapped__")


def test_other_errors_still_raise():
    tolerate_lost_acks()

    class Broken(MessageOnADeadSocket):
        def ack(self):
            raise ValueError("a bug, not a dropped connection")

    with pytest.raises(ValueError):
        QueueConsumer.__new__(QueueConsumer).ack_message(Broken())


class RecordingConsumer:
    def __init__(self):
        self.requeued = []
        self.acked = []

    def requeue_message(self, message):
        self.requeued.append(message)

    def ack_message(self, message):
        self.acked.append(message)


def rpc_consumer_answering(monkeypatch, error):
    """An RpcConsumer whose reply publish fails with ``error`` (the link cut under it)."""
    from nameko import rpc

    def publish_fails(self, result, exc_info):
        raise error

    monkeypatch.setattr(rpc.Responder, "send_response", publish_fails)
    consumer = rpc.RpcConsumer.__new__(rpc.RpcConsumer)
    consumer.container = type("Container", (), {"config": {"AMQP_URI": "memory://"}})()
    consumer.queue_consumer = RecordingConsumer()
    return consumer


@pytest.mark.parametrize(
    "error",
    [
        pytest.param(
            __import__("kombu").exceptions.OperationalError("Server unexpectedly closed"), id="kombu"
        ),
        pytest.param(ConnectionResetError(104, "Connection reset by peer"), id="socket"),
    ],
)
def test_a_reply_lost_with_the_connection_requeues_the_request_instead_of_stopping_the_service(
    monkeypatch, error
):
    tolerate_lost_acks()
    tolerate_lost_acks()  # installing twice wraps once
    consumer = rpc_consumer_answering(monkeypatch, error)
    message = object()
    assert consumer.handle_result(message, {"id": 1}, None) == ({"id": 1}, None)
    assert consumer.queue_consumer.requeued == [message] and consumer.queue_consumer.acked == []
    from nameko.rpc import RpcConsumer

    assert not hasattr(RpcConsumer.handle_result.__wrapped__, "__wrapped__")


def test_a_reply_that_fails_for_another_reason_still_raises(monkeypatch):
    tolerate_lost_acks()
    consumer = rpc_consumer_answering(monkeypatch, TypeError("not serialisable: a bug"))
    with pytest.raises(TypeError):
        consumer.handle_result(object(), {"id": 1}, None)

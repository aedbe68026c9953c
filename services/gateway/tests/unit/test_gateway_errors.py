import pytest
from nameko.exceptions import RemoteError, UnknownService

from accounts.exceptions import BadCredentials, UsernameTaken
from crm_common.errors import (
    Forbidden,
    InvalidInput,
    MalformedJson,
    NotFound,
    ServiceTimeout,
    ServiceUnavailable,
)
from gateway.errors import describe


@pytest.mark.parametrize(
    ("error", "status", "code"),
    [
        (InvalidInput("bad", {"name": ["required"]}), 400, "validation_error"),
        (MalformedJson("not json"), 400, "malformed_json"),
        (BadCredentials("wrong"), 401, "bad_credentials"),
        (Forbidden("no"), 403, "forbidden"),
        (NotFound("gone"), 404, "not_found"),
        (UsernameTaken("taken"), 409, "username_taken"),
        (ServiceTimeout("slow"), 504, "service_timeout"),
        (ServiceUnavailable("down"), 503, "service_unavailable"),
        (UnknownService("customers"), 503, "service_unavailable"),
        (RemoteError("KeyError", "boom"), 500, "internal_error"),
    ],
)
def test_each_error_has_one_status_and_code(error, status, code):
    got_status, body = describe(error)
    assert got_status == status
    assert body["error"]["code"] == code


def test_field_errors_travel_in_details():
    _, body = describe(InvalidInput("bad", {"name": ["required"]}))
    assert body["error"]["details"] == {"name": ["required"]}


def test_an_internal_error_reveals_nothing():
    _, body = describe(RemoteError("KeyError", "secret internals"))
    assert "secret" not in body["error"]["message"]

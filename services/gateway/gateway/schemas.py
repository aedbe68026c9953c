"""Shapes only the gateway owns: tokens, health, errors."""

from marshmallow import Schema, fields, validate


class TokenRequestSchema(Schema):
    username = fields.String(required=True, validate=validate.Length(min=1, max=64))
    password = fields.String(required=True, validate=validate.Length(min=1, max=128))


class TokenSchema(Schema):
    access_token = fields.String()
    token_type = fields.String(metadata={"example": "bearer"})
    expires_in = fields.Integer(metadata={"description": "seconds"})


class HealthSchema(Schema):
    status = fields.String(metadata={"description": "ok, or degraded when a service is down"})
    services = fields.Dict(
        keys=fields.String(), values=fields.String(validate=validate.OneOf(["ok", "down"]))
    )


class ErrorDetailSchema(Schema):
    code = fields.String(required=True)
    message = fields.String(required=True)
    details = fields.Raw(allow_none=True)


class ErrorSchema(Schema):
    error = fields.Nested(ErrorDetailSchema, required=True)


class PongSchema(Schema):
    pong = fields.Boolean()

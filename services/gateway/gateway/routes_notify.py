"""Routes of the notify area: reminders, notifications, the SMS log, settings, and the Twilio
status callback (the one route authenticated by Twilio's signature instead of a JWT)."""

from __future__ import annotations

from typing import Any

from werkzeug.wrappers import Request, Response

from gateway.api import route
from notify.schemas import (
    MarkedSchema,
    NewReminderSchema,
    NotificationListSchema,
    NotificationQuerySchema,
    NotificationSchema,
    PreferencesSchema,
    ReminderQuerySchema,
    ReminderSchema,
    SmsQuerySchema,
    SmsSchema,
    TeamSettingsQuerySchema,
    TeamSettingsSchema,
)

STATUS_CALLBACK_PATH = "/sms/status-callback"


class NotifyRoutes:
    notify: Any
    caller: Any

    @route(
        "POST",
        "/reminders",
        summary="Set a reminder: in the app when due, by SMS if not acknowledged in time",
        tag="notify",
        body=NewReminderSchema,
        response=ReminderSchema,
        status=201,
        errors=(403, 404),  # customer_id: a customer the caller may not read, or none
    )
    def create_reminder(self, request: Request, body: dict) -> dict:
        return self.notify.create_reminder(body)

    @route(
        "GET",
        "/reminders",
        summary="Reminders: own (a manager: the team's), by status",
        tag="notify",
        query=ReminderQuerySchema,
        response=ReminderSchema,
        many=True,
        errors=(403,),
    )
    def list_reminders(self, request: Request, query: dict) -> list:
        return self.notify.list_reminders(query)

    @route(
        "GET",
        "/reminders/<int:reminder_id>",
        summary="One reminder",
        tag="notify",
        response=ReminderSchema,
        errors=(404,),
    )
    def get_reminder(self, request: Request, reminder_id: int) -> dict:
        return self.notify.get_reminder(reminder_id)

    @route(
        "POST",
        "/reminders/<int:reminder_id>/ack",
        summary="Acknowledge a reminder (owner only): no SMS will follow",
        tag="notify",
        response=ReminderSchema,
        errors=(403, 404, 409),
    )
    def acknowledge_reminder(self, request: Request, reminder_id: int) -> dict:
        return self.notify.acknowledge_reminder(reminder_id)

    @route(
        "POST",
        "/reminders/<int:reminder_id>/cancel",
        summary="Cancel a pending or due reminder (owner only)",
        tag="notify",
        response=ReminderSchema,
        errors=(403, 404, 409),
    )
    def cancel_reminder(self, request: Request, reminder_id: int) -> dict:
        return self.notify.cancel_reminder(reminder_id)

    @route(
        "GET",
        "/notifications",
        summary="In-app notifications, newest first, with the unread count",
        tag="notify",
        query=NotificationQuerySchema,
        response=NotificationListSchema,
    )
    def list_notifications(self, request: Request, query: dict) -> dict:
        return self.notify.list_notifications(query)

    @route(
        "POST",
        "/notifications/<int:notification_id>/read",
        summary="Mark a notification read",
        tag="notify",
        response=NotificationSchema,
        errors=(404,),
    )
    def mark_notification_read(self, request: Request, notification_id: int) -> dict:
        return self.notify.mark_notification_read(notification_id)

    @route(
        "POST",
        "/notifications/read-all",
        summary="Mark every notification read",
        tag="notify",
        response=MarkedSchema,
    )
    def mark_all_notifications_read(self, request: Request) -> dict:
        return self.notify.mark_all_notifications_read()

    @route(
        "GET",
        "/sms",
        summary="The SMS log with statuses (admin)",
        tag="notify",
        query=SmsQuerySchema,
        response=SmsSchema,
        many=True,
        errors=(403,),
    )
    def list_sms(self, request: Request, query: dict) -> list:
        return self.notify.list_sms(query)

    @route(
        "GET",
        "/notify/settings",
        summary="The team's birthday and revisit lead times",
        tag="notify",
        query=TeamSettingsQuerySchema,
        response=TeamSettingsSchema,
        errors=(403,),
    )
    def get_team_settings(self, request: Request, query: dict) -> dict:
        return self.notify.get_team_settings(query)

    @route(
        "PUT",
        "/notify/settings",
        summary="Set the team's birthday and revisit lead times (manager; admin for any team)",
        tag="notify",
        body=TeamSettingsSchema,
        response=TeamSettingsSchema,
        errors=(403,),
    )
    def update_team_settings(self, request: Request, body: dict) -> dict:
        return self.notify.update_team_settings(body)

    @route(
        "GET",
        "/notify/preferences",
        summary="The caller's notify preferences",
        tag="notify",
        response=PreferencesSchema,
    )
    def get_preferences(self, request: Request) -> dict:
        return self.notify.get_preferences()

    @route(
        "PUT",
        "/notify/preferences",
        summary="Set the caller's notify preferences (team notices by SMS too)",
        tag="notify",
        body=PreferencesSchema,
        response=PreferencesSchema,
    )
    def update_preferences(self, request: Request, body: dict) -> dict:
        return self.notify.update_preferences(body)

    @route(
        "POST",
        STATUS_CALLBACK_PATH,
        summary="Twilio's delivery status callback (form-encoded, signed with X-Twilio-Signature)",
        tag="notify",
        status=204,
        auth=False,
        errors=(403,),
    )
    def sms_status_callback(self, request: Request) -> Response:
        # notify holds Twilio's token and checks the signature (403 invalid_signature otherwise)
        self.notify.sms_status_callback(
            {
                "url": request.url,
                "params": request.form.to_dict(),
                "signature": request.headers.get("X-Twilio-Signature"),
            }
        )
        return Response(status=204)

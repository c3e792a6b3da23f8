"""Writes for the ticket lifecycle. Every face (admin, portal, API, tasks) calls these; each
owns its transaction, locks the ticket row it changes, writes history, and tells the apps
above through `tickets.signals`; the ticket's own emails go through `tickets.notify`.

One module per kind of write; import the names from here (`from tickets.services import
ticket_create`)."""

from .changes import (
    CLIENT_TRANSITIONS,
    TRANSITIONS,
    ticket_assign,
    ticket_impact_change,
    ticket_status_change,
    ticket_update,
)
from .common import _validate_upload, clean_text, ticket_history_record
from .filing import attachment_add, ticket_create
from .members import membership_invite, membership_remove, membership_role_change, membership_set
from .replies import comment_post
from .staff import notifications_resend, user_timezone_set

__all__ = [
    "CLIENT_TRANSITIONS",
    "TRANSITIONS",
    "_validate_upload",
    "attachment_add",
    "clean_text",
    "comment_post",
    "membership_invite",
    "membership_remove",
    "membership_role_change",
    "membership_set",
    "notifications_resend",
    "ticket_assign",
    "ticket_create",
    "ticket_history_record",
    "ticket_impact_change",
    "ticket_status_change",
    "ticket_update",
    "user_timezone_set",
]

"""The notification outbox: one row per message to one recipient."""

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from .tickets import Ticket

# The email events whose messages are grouped per recipient within a delivery pass
# (tickets.delivery). Staff- and contact-facing events of other parts of the project join by
# adding their name here; the outbox's pending indexes are split by it, so a change comes
# with a migration (`makemigrations --check` in CI fails without one).
GROUPED_EVENTS = (
    "client_replied",
    "client_update",
    "escalated",
    "response_at_risk",
    "response_breached",
    "staff_alert",
    "update_due_soon",
)


GROUPED_CHANNEL = "email"


def grouped_rows() -> Q:
    """The rows delivery groups per recipient, written exactly as the pending indexes' own
    conditions are (PostgreSQL uses a partial index only for a query that implies them)."""
    return Q(channel=GROUPED_CHANNEL, event__in=GROUPED_EVENTS)


def is_grouped(*, channel: str, event: str) -> bool:
    """`grouped_rows()` for one row in memory."""
    return channel == GROUPED_CHANNEL and event in GROUPED_EVENTS


def attempts_spent() -> Q:
    """Rows that made every attempt of their retry budget (NOTIFICATION_MAX_ATTEMPTS since
    they were queued or last sent again by staff); `Notification.out_of_attempts` in memory."""
    return Q(attempts__gte=F("attempts_before_resend") + settings.NOTIFICATION_MAX_ATTEMPTS)


class Notification(models.Model):
    """The outbox: one row per message to one recipient, written in the same transaction as
    the change that caused it and delivered by a Celery worker.

    The unique key (ticket, event, sequence, channel, recipient) is what makes every message
    go out once, however many scans or retries run: a second insert is ignored.
    """

    class Channel(models.TextChoices):
        EMAIL = "email", "Email"
        WEBHOOK = "webhook", "Webhook"
        # Email carrying a sign-in link: sent by tickets.account_mail, which keeps no link.
        ACCOUNT = "account", "Email (account link)"

    class Event(models.TextChoices):
        """Email events; webhook rows use their event names (`ticket.created`, ...)."""

        TICKET_FILED = "ticket_filed", "Receipt to the reporter"
        STAFF_ALERT = "staff_alert", "New ticket alert to the staff queue"
        PUBLIC_REPLY = "public_reply", "Public staff reply"
        STATUS_WAITING = "status_waiting", "Waiting on client"
        STATUS_RESOLVED = "status_resolved", "Resolved"
        CLIENT_UPDATE = "client_update", "Automated client update"
        UPDATE_DUE_SOON = "update_due_soon", "Client update due soon (to assignee)"
        RESPONSE_AT_RISK = "response_at_risk", "First response at risk (to assignee)"
        RESPONSE_BREACHED = "response_breached", "First response breached (to assignee)"
        ESCALATED = "escalated", "Escalation (to escalation contacts)"
        CLIENT_REPLIED = "client_replied", "Client replied (to assignee)"
        MAJOR_INCIDENT_UPDATE = "major_incident_update", "Major incident update (one per person)"
        MAIL_ANSWER = "mail_answer", "Answer to an email that could not be accepted"
        INVITATION = "invitation", "Invitation to a site (account email)"
        PASSWORD_RESET = "password_reset", "Password reset link (account email)"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"

    # None for email that concerns no ticket: answers to inbound mail from an unknown sender,
    # invitations and password resets.
    # Indexed by the unique key `notification_once_per_key`, which starts with it (a ticket's
    # rows are a handful; every row of an outage would pay for an index of its own).
    ticket = models.ForeignKey(
        Ticket,
        on_delete=models.CASCADE,
        related_name="notifications",
        null=True,
        blank=True,
        db_index=False,
    )
    event = models.CharField(max_length=40)
    # Distinguishes repeats of one event on one ticket (the 3rd client update, level 4, ...).
    sequence = models.PositiveIntegerField(default=0)
    channel = models.CharField(max_length=10, choices=Channel.choices, default=Channel.EMAIL)
    recipient = models.CharField(max_length=500)
    subject = models.CharField(max_length=300, blank=True)
    body_text = models.TextField(blank=True)
    body_html = models.TextField(blank=True)
    # What the email says, for rows rendered when they are delivered (the scan's): the
    # rendered subject and bodies are stored above once the message went out.
    context = models.JSONField(default=dict, blank=True)
    grouped_with = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="The row whose message listed this one among others, when it was grouped.",
        db_index=False,  # `notification_grouped_with`, where set
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    # Staff's "send again" gives a failed row a fresh retry budget without numbering its
    # attempts from 1 again (each attempt is sealed into the evidence under its number).
    attempts_before_resend = models.PositiveSmallIntegerField(
        default=0, help_text="Attempts made before staff last sent the row again."
    )
    last_error = models.TextField(blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    failed_at = models.DateTimeField(
        null=True, blank=True, help_text="When the last retry failed and delivery was given up."
    )
    # A delivery pass claims the row (status `sending`) until the lease expires; a pass that
    # died mid-send leaves it to be claimed again after that.
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    lease_token = models.CharField(max_length=32, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["ticket", "event", "sequence", "channel", "recipient"],
                name="notification_once_per_key",
            ),
            models.UniqueConstraint(
                fields=["event", "sequence", "channel", "recipient"],
                condition=Q(ticket__isnull=True),
                name="notification_once_per_key_without_ticket",
            ),
        ]
        # Delivery's lookups walk these in claim order (next_attempt_at, id) and stop at a
        # bound. Grouped and other rows have indexes of their own, so a lookup for the one
        # kind never walks past an outage's backlog of the other.
        indexes = [
            models.Index(
                fields=["next_attempt_at", "id"],
                name="notification_pending_single",
                condition=Q(status="pending") & ~grouped_rows(),
            ),
            models.Index(
                fields=["next_attempt_at", "id"],
                name="notification_pending_grouped",
                condition=Q(status="pending") & grouped_rows(),
            ),
            models.Index(
                fields=["recipient", "next_attempt_at", "id"],
                name="notification_pending_recipient",
                condition=Q(status="pending") & grouped_rows(),
            ),
            models.Index(
                fields=["lease_expires_at"],
                name="notification_leased",
                condition=Q(status="sending"),
            ),
            models.Index(fields=["status", "created_at"], name="notification_status"),
            models.Index(
                fields=["grouped_with"],
                name="notification_grouped_with",
                condition=Q(grouped_with__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event} #{self.sequence} to {self.recipient}"

    @property
    def tries(self) -> int:
        """Attempts of the current retry budget."""
        return self.attempts - self.attempts_before_resend

    def out_of_attempts(self) -> bool:
        """Whether this row made the last attempt of its budget (`attempts_spent()` in SQL)."""
        return self.tries >= settings.NOTIFICATION_MAX_ATTEMPTS


class NotificationHold(models.Model):
    """A scan pass in progress: outbox rows written under its token wait until the pass ends
    and deletes it (one row, however many it wrote), so a person hears of the whole pass in
    one message. If the pass dies, the hold runs out at `expires_at` and its rows go out."""

    token = models.CharField(max_length=32, primary_key=True)
    expires_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"outbox hold {self.token} until {self.expires_at:%Y-%m-%d %H:%M}"

"""One row per message read from the support mailbox: what came in, what it matched and what
became of it. The original is kept as a file for staff only."""

from django.conf import settings
from django.db import models


def original_path(instance: "InboundMessage", filename: str) -> str:
    return f"inbound/{instance.received_at:%Y/%m}/{filename}"


class InboundMessage(models.Model):
    class Outcome(models.TextChoices):
        COMMENTED = "commented", "Added to the ticket"
        FILED = "filed", "Filed as a new ticket"
        REFUSED = "refused", "Refused"
        IGNORED = "ignored", "Ignored (automatic mail)"
        UNMATCHED = "unmatched", "Matched no ticket"
        ATTACHED = "attached", "Attached to a ticket by staff"

    class MatchedBy(models.TextChoices):
        TOKEN = "token", "Signed reply address"
        HEADERS = "headers", "In-Reply-To / References"
        SUBJECT = "subject", "Reference in the subject"
        STAFF = "staff", "Attached by staff"

    message_id = models.CharField(max_length=500, unique=True)
    received_at = models.DateTimeField(db_index=True)
    from_address = models.EmailField(max_length=254, blank=True, db_index=True)
    subject = models.CharField(max_length=300, blank=True)
    sender = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    ticket = models.ForeignKey(
        "tickets.Ticket",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="inbound_messages",
    )
    matched_by = models.CharField(max_length=10, choices=MatchedBy.choices, blank=True)
    comment = models.ForeignKey(
        "tickets.Comment", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    outcome = models.CharField(max_length=10, choices=Outcome.choices)
    reason = models.CharField(max_length=500, blank=True)
    # The text after quoted history and signatures were removed: what a comment would say.
    text = models.TextField(blank=True)
    original = models.FileField(upload_to=original_path, max_length=255, blank=True)
    answered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        indexes = [
            models.Index(fields=["from_address", "answered_at"], name="inbound_answers_by_sender"),
            models.Index(fields=["outcome", "-received_at"], name="inbound_outcome"),
        ]

    def __str__(self) -> str:
        return f"{self.from_address or 'unknown sender'}: {self.get_outcome_display()}"

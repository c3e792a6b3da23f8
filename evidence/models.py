"""Evidence a contract dispute can rely on: per-ticket hash chains of the SLA-relevant facts,
and the record of who at Rx.Health opened a ticket's description, thread or attachments.

Entries are only ever appended (by `evidence.services.evidence_seal`); a ticket's chain and its
views outlive the ticket row itself (no database constraint, nothing cascades), so deleting a
ticket in the back office cannot silently take its evidence with it.
"""

from django.conf import settings
from django.db import models


class EvidenceChain(models.Model):
    """The head of one ticket's chain: its length and the hash of its last entry. Verification
    compares it with the entries, so a deleted tail is a break too."""

    ticket = models.OneToOneField(
        "tickets.Ticket",
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="evidence_chain",
    )
    reference = models.CharField(max_length=20)
    length = models.PositiveIntegerField(default=0)
    head_hash = models.CharField(max_length=64, blank=True)
    updated_at = models.DateTimeField()
    # Set when the retention purge removed the entries; the chain is then no longer extended.
    purged_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["reference"]

    def __str__(self) -> str:
        return f"Evidence chain of {self.reference} ({self.length} entries)"


class EvidenceEntry(models.Model):
    """One sealed fact. `hash` = sha256 of the previous entry's hash, the sequence number, the
    kind, the time and the canonical JSON of the payload (see `evidence.chain`)."""

    ticket = models.ForeignKey(
        "tickets.Ticket",
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="evidence_entries",
    )
    seq = models.PositiveIntegerField()
    kind = models.CharField(max_length=40)
    at = models.DateTimeField()
    # Where the fact was read from: "ticket_event:123", "escalation_record:7",
    # "notification:456:attempt:2". Unique, so a fact is sealed once however often sealing runs.
    source = models.CharField(max_length=80, unique=True)
    payload = models.JSONField()
    prev_hash = models.CharField(max_length=64, blank=True)
    hash = models.CharField(max_length=64)
    sealed_at = models.DateTimeField()

    class Meta:
        ordering = ["ticket_id", "seq"]
        verbose_name_plural = "evidence entries"
        constraints = [
            models.UniqueConstraint(fields=["ticket", "seq"], name="evidence_entry_seq_once"),
        ]
        indexes = [models.Index(fields=["at"], name="evidence_entry_at")]

    def __str__(self) -> str:
        return f"#{self.seq} {self.kind}"


class SealMark(models.Model):
    """The singleton row sealing locks and advances: when the last seal began. The next one
    reads source rows from a little before it (late commits), skipping what is sealed."""

    sealed_until = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"Sealed until {self.sealed_until}"


class TicketView(models.Model):
    """Someone at Rx.Health opened a ticket's description, its thread or an attachment."""

    class What(models.TextChoices):
        TICKET = "ticket", "description and thread"
        DESCRIPTION = "description", "description"
        THREAD = "thread", "thread"
        ATTACHMENT = "attachment", "attachment"

    class Face(models.TextChoices):
        BACK_OFFICE = "back_office", "back office"
        API = "api", "API"
        PORTAL = "portal", "portal"

    ticket = models.ForeignKey(
        "tickets.Ticket", on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    viewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    # Kept as text too, so the record outlives a deleted account.
    viewer_name = models.CharField(max_length=254)
    what = models.CharField(max_length=20, choices=What.choices)
    attachment = models.ForeignKey(
        "tickets.Attachment",
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        null=True,
        blank=True,
        related_name="+",
    )
    face = models.CharField(max_length=20, choices=Face.choices)
    at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["ticket", "-at"], name="ticket_view_ticket_time")]

    def __str__(self) -> str:
        return (
            f"{self.viewer_name} opened the {self.get_what_display()} ({self.get_face_display()})"
        )

"""Tickets, their comments, attachments and history."""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q

from .choices import OPEN_STATUSES, Impact, Kind, SLAState, Status
from .sites import ClientSite


class Ticket(models.Model):
    reference = models.CharField(max_length=20, unique=True, editable=False)
    # Foreign keys whose queries a composite index below serves (site, assignee) or that are
    # mostly empty (major_incident) have no index of their own: a scan pass rewrites
    # thousands of ticket rows, and every index of the table takes an entry for each.
    site = models.ForeignKey(
        ClientSite, on_delete=models.PROTECT, related_name="tickets", db_index=False
    )
    reporter = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="reported_tickets"
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="assigned_tickets",
        db_index=False,
        # Every form and the admin's autocomplete offer only active staff.
        limit_choices_to={"is_staff": True, "is_active": True},
    )
    kind = models.CharField(max_length=10, choices=Kind.choices)
    impact = models.CharField(max_length=10, choices=Impact.choices, blank=True, default="")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.NEW)
    title = models.CharField(max_length=200)
    description = models.TextField(max_length=50_000)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    # The client's first reply since Rx.Health's last public reply; null once staff answered.
    client_replied_at = models.DateTimeField(null=True, blank=True)
    # Moved in from JIRA: the key (old links and emails name it) and a digest of what
    # was imported, so a second import updates only what changed there.
    # Unique where set (`ticket_jira_key`): tickets filed in the portal have none (null, not "").
    jira_key = models.CharField(  # noqa: DJ001
        max_length=40, null=True, blank=True, editable=False
    )
    jira_digest = models.CharField(max_length=64, blank=True, editable=False)

    # SLA clocks: written only by sla.services.
    sla_state = models.CharField(max_length=10, choices=SLAState.choices, default=SLAState.ON_TRACK)
    response_due_at = models.DateTimeField(null=True, blank=True)
    response_warn_at = models.DateTimeField(null=True, blank=True)
    responded_at = models.DateTimeField(null=True, blank=True)
    response_breached_at = models.DateTimeField(null=True, blank=True)
    last_client_update_at = models.DateTimeField(null=True, blank=True)
    next_update_due_at = models.DateTimeField(null=True, blank=True)
    client_update_count = models.PositiveIntegerField(default=0)
    estimated_resolution_at = models.DateTimeField(null=True, blank=True)
    paused_at = models.DateTimeField(null=True, blank=True)
    paused_seconds = models.PositiveBigIntegerField(default=0)
    # The earliest moment the scan has something to do for this ticket; null when nothing.
    sla_next_check_at = models.DateTimeField(null=True, blank=True)
    # When the at-risk warning went out (once per ticket).
    response_warned_at = models.DateTimeField(null=True, blank=True)
    # Counted seconds (in the policy's calendar) the first-response clock stood still.
    response_paused_seconds = models.PositiveBigIntegerField(default=0)
    # Client updates (incidents): when the assignee is warned that the next one is due soon
    # (null once warned), which cycle of the cadence this is, and the elapsed seconds paused
    # since the cycle began.
    update_warn_at = models.DateTimeField(null=True, blank=True)
    update_cycle = models.PositiveIntegerField(default=0)
    update_paused_seconds = models.PositiveBigIntegerField(default=0)

    # Escalation: written only by escalation.services. Level 1 is the support portal itself.
    escalation_level = models.PositiveSmallIntegerField(default=1)
    escalated_at = models.DateTimeField(null=True, blank=True)
    # When the next automatic escalation step is due; null when none is pending.
    escalation_next_at = models.DateTimeField(null=True, blank=True)

    # The major incident this ticket is linked to (at most one); written only by the major
    # incident services, which keep every link and unlink in the history.
    major_incident = models.ForeignKey(
        "MajorIncident",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="tickets",
        db_index=False,
    )

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(
                fields=["sla_next_check_at"],
                name="ticket_sla_next_check",
                condition=Q(sla_next_check_at__isnull=False),
            ),
            models.Index(
                fields=["escalation_next_at"],
                name="ticket_escalation_next",
                condition=Q(escalation_next_at__isnull=False),
            ),
            models.Index(fields=["site", "status", "-created_at"], name="ticket_site_status"),
            models.Index(fields=["status", "-created_at"], name="ticket_status_created"),
            models.Index(fields=["assignee", "status"], name="ticket_assignee_status"),
            models.Index(fields=["sla_state"], name="ticket_sla_state"),
            models.Index(
                fields=["major_incident"],
                name="ticket_major_incident",
                condition=Q(major_incident__isnull=False),
            ),
            models.Index(fields=["response_due_at"], name="ticket_response_due"),
            models.Index(fields=["next_update_due_at"], name="ticket_next_update_due"),
            models.Index(
                fields=["client_replied_at"],
                name="ticket_client_replied",
                condition=Q(client_replied_at__isnull=False),
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["jira_key"],
                name="ticket_jira_key",
                condition=Q(jira_key__isnull=False),
            ),
            models.CheckConstraint(
                condition=(Q(kind="incident") & Q(impact__in=Impact.values))
                | (~Q(kind="incident") & Q(impact="")),
                name="ticket_impact_only_for_incidents",
            ),
            models.CheckConstraint(condition=Q(kind__in=Kind.values), name="ticket_kind_valid"),
            models.CheckConstraint(
                condition=Q(status__in=Status.values), name="ticket_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(escalation_level__gte=1) & Q(escalation_level__lte=4),
                name="ticket_escalation_level_1_to_4",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.reference} {self.title}"

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES


class Comment(models.Model):
    """A reply on a ticket: public (seen by the site) or an internal staff note."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="ticket_comments"
    )
    body = models.TextField(max_length=50_000)
    public = models.BooleanField(default=True)
    # Whether the author was Rx.Health staff when posting; kept so history stays true
    # when someone's staff flag changes later.
    by_staff = models.BooleanField(default=False)
    estimated_resolution_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # The JIRA comment id when imported (blank otherwise): a second import updates, never adds.
    jira_id = models.CharField(max_length=40, blank=True, default="", editable=False)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["ticket", "created_at"], name="comment_ticket_created")]
        constraints = [
            models.CheckConstraint(
                condition=Q(public=True) | Q(by_staff=True), name="comment_internal_only_by_staff"
            ),
        ]

    def __str__(self) -> str:
        return f"{'Reply' if self.public else 'Internal note'} on {self.ticket_id} by {self.author}"


def attachment_path(instance: "Attachment", filename: str) -> str:
    # Never trust the uploaded name on disk; it is kept in original_name for display.
    return f"attachments/{instance.ticket.site_id}/{uuid.uuid4().hex}"


class Attachment(models.Model):
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="attachments")
    comment = models.ForeignKey(
        Comment, on_delete=models.SET_NULL, null=True, blank=True, related_name="attachments"
    )
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="ticket_attachments"
    )
    file = models.FileField(upload_to=attachment_path, max_length=255)
    original_name = models.CharField(max_length=255)
    content_type = models.CharField(max_length=100)
    size = models.PositiveBigIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)
    # The JIRA attachment id when imported (blank otherwise).
    jira_id = models.CharField(max_length=40, blank=True, default="", editable=False)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return self.original_name


class TicketEvent(models.Model):
    """One entry of a ticket's history: who did what, with the values before and after."""

    class Action(models.TextChoices):
        CREATED = "created", "Created"
        COMMENTED = "commented", "Replied"
        NOTE_ADDED = "note_added", "Internal note"
        ATTACHED = "attached", "Attached a file"
        STATUS_CHANGED = "status_changed", "Status changed"
        IMPACT_CHANGED = "impact_changed", "Impact changed"
        ASSIGNED = "assigned", "Assignee changed"
        ESTIMATE_SET = "estimate_set", "Estimated resolution set"
        SLA = "sla", "SLA"
        ESCALATED = "escalated", "Escalated"
        LINKED = "linked", "Linked to a major incident"
        UNLINKED = "unlinked", "Unlinked from a major incident"
        IMPORTED = "imported", "Imported from JIRA"
        JIRA_HISTORY = "jira_history", "Changed in JIRA"

    # Indexed by `event_ticket_created` and, where set, `event_actor`.
    ticket = models.ForeignKey(
        Ticket, on_delete=models.CASCADE, related_name="events", db_index=False
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="Empty when the system did it (the SLA scan, for example).",
        db_index=False,
    )
    action = models.CharField(max_length=20, choices=Action.choices)
    # {"field": [before, after], ...}
    changes = models.JSONField(default=dict, blank=True)
    message = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # The JIRA changelog entry this came from when imported (blank otherwise).
    jira_id = models.CharField(max_length=40, blank=True, default="", editable=False)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [
            models.Index(fields=["ticket", "created_at"], name="event_ticket_created"),
            models.Index(fields=["actor"], name="event_actor", condition=Q(actor__isnull=False)),
        ]

    def __str__(self) -> str:
        return f"{self.get_action_display()} by {self.actor or 'system'}"

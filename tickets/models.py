"""The ticketing domain: hospital sites, their members, tickets, comments, attachments,
history, and the notification outbox.

The SLA clock and escalation columns live on `Ticket` (indexed, so "what is due now" is one
query) but are written only by `sla` and `escalation` services.
"""

import uuid
import zoneinfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q


def validate_timezone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(f"{value!r} is not a known time zone (for example America/New_York).")


class Kind(models.TextChoices):
    GENERAL = "general", "General request / Q&A"
    TASK = "task", "Routine task"
    CHANGE = "change", "Change request"
    INCIDENT = "incident", "Incident: performance issue or outage"


class Impact(models.TextChoices):
    HIGH = "high", "High"
    MEDIUM = "medium", "Medium"
    LOW = "low", "Low"


class Status(models.TextChoices):
    NEW = "new", "New"
    IN_PROGRESS = "in_progress", "In progress"
    WAITING_ON_CLIENT = "waiting_on_client", "Waiting on client"
    RESOLVED = "resolved", "Resolved"
    CLOSED = "closed", "Closed"


OPEN_STATUSES = (Status.NEW, Status.IN_PROGRESS, Status.WAITING_ON_CLIENT)


class SLAState(models.TextChoices):
    ON_TRACK = "on_track", "On track"
    AT_RISK = "at_risk", "At risk"
    BREACHED = "breached", "Breached"
    MET = "met", "Met"
    PAUSED = "paused", "Paused"


class Role(models.TextChoices):
    PM = "pm", "Project manager"
    IT = "it", "IT"
    VIEWER = "viewer", "Viewer"


FILING_ROLES = (Role.PM, Role.IT)


class ClientSite(models.Model):
    """A hospital site that Rx.Health supports."""

    name = models.CharField(max_length=200, unique=True)
    slug = models.SlugField(max_length=60, unique=True)
    timezone = models.CharField(
        max_length=64, default="America/New_York", validators=[validate_timezone]
    )
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class SiteMembership(models.Model):
    """A user's role at a site: `pm` and `it` may file and reply, `viewer` may only read."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="site_memberships"
    )
    site = models.ForeignKey(ClientSite, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=10, choices=Role.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["site__name", "user__username"]
        constraints = [
            models.UniqueConstraint(fields=["user", "site"], name="membership_one_per_user_site"),
            models.CheckConstraint(condition=Q(role__in=Role.values), name="membership_role_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.user} at {self.site} ({self.get_role_display()})"


class MembershipEvent(models.Model):
    """Who added, invited, changed the role of, or removed whom at a site, and when. Names are
    kept as text too, so the record outlives a deleted account."""

    class Action(models.TextChoices):
        INVITED = "invited", "invited"
        ADDED = "added", "added"
        ROLE_CHANGED = "role_changed", "changed the role of"
        REMOVED = "removed", "removed"

    site = models.ForeignKey(ClientSite, on_delete=models.CASCADE, related_name="membership_events")
    member = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    member_name = models.CharField(max_length=254)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    actor_name = models.CharField(max_length=254, blank=True)
    action = models.CharField(max_length=20, choices=Action.choices)
    role_before = models.CharField(max_length=10, choices=Role.choices, blank=True)
    role_after = models.CharField(max_length=10, choices=Role.choices, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["site", "-created_at"], name="membership_event_site_time")]

    def __str__(self) -> str:
        who = self.actor_name or "The system"
        return f"{who} {self.get_action_display()} {self.member_name}"


class UserPreference(models.Model):
    """A person's own settings; for staff, the time zone the back office shows times in."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="preference"
    )
    timezone = models.CharField(
        max_length=64,
        blank=True,
        validators=[validate_timezone],
        help_text="Empty: each ticket's times are shown in its site's time zone.",
    )

    def __str__(self) -> str:
        return f"Preferences of {self.user}"


class Ticket(models.Model):
    reference = models.CharField(max_length=20, unique=True, editable=False)
    site = models.ForeignKey(ClientSite, on_delete=models.PROTECT, related_name="tickets")
    reporter = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="reported_tickets"
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="assigned_tickets",
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
    jira_key = models.CharField(max_length=40, unique=True, null=True, blank=True, editable=False)
    jira_digest = models.CharField(max_length=64, blank=True, editable=False)

    # SLA clocks: written only by sla.services.
    sla_state = models.CharField(
        max_length=10, choices=SLAState.choices, default=SLAState.ON_TRACK, db_index=True
    )
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
            models.Index(fields=["response_due_at"], name="ticket_response_due"),
            models.Index(fields=["next_update_due_at"], name="ticket_next_update_due"),
            models.Index(
                fields=["client_replied_at"],
                name="ticket_client_replied",
                condition=Q(client_replied_at__isnull=False),
            ),
        ]
        constraints = [
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

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="events")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="Empty when the system did it (the SLA scan, for example).",
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
        indexes = [models.Index(fields=["ticket", "created_at"], name="event_ticket_created")]

    def __str__(self) -> str:
        return f"{self.get_action_display()} by {self.actor or 'system'}"


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
    ticket = models.ForeignKey(
        Ticket, on_delete=models.CASCADE, related_name="notifications", null=True, blank=True
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
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
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
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                name="notification_pending",
                condition=Q(status="pending"),
            ),
            models.Index(
                fields=["recipient", "next_attempt_at"],
                name="notification_pending_recipient",
                condition=Q(status="pending"),
            ),
            models.Index(
                fields=["lease_expires_at"],
                name="notification_leased",
                condition=Q(status="sending"),
            ),
            models.Index(fields=["ticket", "created_at"], name="notification_ticket"),
            models.Index(fields=["status", "created_at"], name="notification_status"),
        ]

    def __str__(self) -> str:
        return f"{self.event} #{self.sequence} to {self.recipient}"


class MajorIncident(models.Model):
    """One outage that many sites report: staff link each site's incident ticket to it and
    post updates once for all of them. Each linked ticket keeps its own clocks."""

    class Status(models.TextChoices):
        INVESTIGATING = "investigating", "Investigating"
        IDENTIFIED = "identified", "Identified"
        MONITORING = "monitoring", "Monitoring"
        RESOLVED = "resolved", "Resolved"

    title = models.CharField(max_length=200, help_text="Public: every affected site sees it.")
    summary = models.TextField(
        max_length=5000, blank=True, help_text="Public: every affected site sees it."
    )
    impact = models.CharField(max_length=10, choices=Impact.choices, default=Impact.HIGH)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.INVESTIGATING)
    all_sites = models.BooleanField(
        default=False, help_text="Affects every site (the site list is then ignored)."
    )
    sites = models.ManyToManyField(ClientSite, blank=True, related_name="major_incidents")
    lead = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="major_incidents_led",
        help_text="The staff member in charge.",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    last_public_update_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=["investigating", "identified", "monitoring", "resolved"]),
                name="major_incident_status_valid",
            ),
            models.CheckConstraint(
                condition=Q(impact__in=Impact.values), name="major_incident_impact_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"MI-{self.pk} {self.title}"

    @property
    def is_open(self) -> bool:
        return self.status != self.Status.RESOLVED


class MajorIncidentUpdate(models.Model):
    """An update on a major incident: public ones become a staff reply on every linked
    ticket; internal ones stay on the major incident."""

    major_incident = models.ForeignKey(
        MajorIncident, on_delete=models.CASCADE, related_name="updates"
    )
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    body = models.TextField(max_length=50_000)
    public = models.BooleanField(default=True)
    # How many linked tickets got the reply (public updates).
    ticket_count = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{'Update' if self.public else 'Internal note'} on MI-{self.major_incident_id}"

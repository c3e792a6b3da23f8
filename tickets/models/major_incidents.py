"""Major incidents: one platform outage over many sites' tickets, and its updates."""

from django.conf import settings
from django.db import models
from django.db.models import Q

from .choices import Impact
from .sites import ClientSite


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

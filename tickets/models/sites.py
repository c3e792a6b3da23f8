"""Hospital sites, their members and the history of who joined, changed role or left."""

from django.conf import settings
from django.db import models
from django.db.models import Q

from .choices import Role, validate_timezone


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

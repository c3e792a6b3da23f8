"""The escalation ladder: levels, the contacts at each level, and how far each kind may climb."""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from tickets.models import ClientSite, Impact, Kind


class EscalationLevel(models.Model):
    number = models.PositiveSmallIntegerField(
        unique=True, validators=[MinValueValidator(1), MaxValueValidator(4)]
    )
    name = models.CharField(max_length=100)
    description = models.TextField(
        blank=True, help_text="The support document's wording for this level."
    )

    class Meta:
        ordering = ["number"]
        constraints = [
            models.CheckConstraint(
                condition=Q(number__gte=1) & Q(number__lte=4), name="escalation_level_1_to_4"
            )
        ]

    def __str__(self) -> str:
        return f"Level {self.number}: {self.name}"


class EscalationContact(models.Model):
    """Someone who hears about escalations at a level and above, for one site or all."""

    name = models.CharField(max_length=200)
    role = models.CharField(max_length=200)
    email = models.EmailField()
    phone = models.CharField(max_length=50, blank=True)
    level = models.ForeignKey(EscalationLevel, on_delete=models.PROTECT, related_name="contacts")
    site = models.ForeignKey(
        ClientSite,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="escalation_contacts",
        help_text="Empty: serves every site.",
    )
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["level__number", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["email", "level", "site"],
                name="contact_once_per_level_and_site",
                condition=Q(site__isnull=False),
            ),
            models.UniqueConstraint(
                fields=["email", "level"],
                name="contact_once_per_level_all_sites",
                condition=Q(site__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.role}), level {self.level.number}"


class EscalationMaximum(models.Model):
    """The highest level a ticket of this kind and impact may reach."""

    kind = models.CharField(max_length=10, choices=Kind.choices)
    impact = models.CharField(max_length=10, choices=Impact.choices, blank=True, default="")
    max_level = models.PositiveSmallIntegerField(
        validators=[MinValueValidator(1), MaxValueValidator(4)]
    )

    class Meta:
        ordering = ["kind", "impact"]
        constraints = [
            models.UniqueConstraint(fields=["kind", "impact"], name="escalation_max_one_per_kind"),
            models.CheckConstraint(
                condition=Q(max_level__gte=1) & Q(max_level__lte=4),
                name="escalation_max_level_1_to_4",
            ),
            models.CheckConstraint(
                condition=(Q(kind="incident") & Q(impact__in=Impact.values))
                | (~Q(kind="incident") & Q(impact="")),
                name="escalation_max_impact_only_for_incidents",
            ),
        ]

    def __str__(self) -> str:
        impact = f" ({self.get_impact_display()})" if self.impact else ""
        return f"{self.get_kind_display()}{impact}: up to level {self.max_level}"


class EscalationRecord(models.Model):
    """One level a ticket reached: when, automatically or at whose request, and who was told.

    A ticket reaches each level once (levels only go up), hence the unique key, which also
    keeps two overlapping scans from recording the same step twice.
    """

    # Indexed by the unique key `escalation_record_once`, which starts with it.
    ticket = models.ForeignKey(
        "tickets.Ticket",
        on_delete=models.CASCADE,
        related_name="escalation_records",
        db_index=False,
    )
    level = models.PositiveSmallIntegerField(
        validators=[MinValueValidator(2), MaxValueValidator(4)]
    )
    from_level = models.PositiveSmallIntegerField()
    reached_at = models.DateTimeField()
    automatic = models.BooleanField(
        default=True, help_text="Reached by the scan; otherwise at the request of `actor`."
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="Who asked for the escalation; empty when the scan did it.",
        db_index=False,  # `escalation_record_actor`, where set
    )
    # [{"name", "role", "email", "level"}, ...]: kept as sent, so history stays true when
    # contacts are edited later.
    notified = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["ticket", "level"]
        verbose_name = "escalation history entry"
        verbose_name_plural = "escalation history"
        constraints = [
            models.UniqueConstraint(fields=["ticket", "level"], name="escalation_record_once"),
        ]
        indexes = [
            models.Index(fields=["reached_at"], name="escalation_record_reached"),
            models.Index(
                fields=["actor"],
                name="escalation_record_actor",
                condition=Q(actor__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        how = "automatic" if self.automatic else f"requested by {self.actor or 'a deleted user'}"
        return f"Level {self.level} ({how})"


class EscalationAcknowledgement(models.Model):
    """An escalation contact confirmed, through the link in their email, that they saw it.

    It never counts as a response to the client: it touches no SLA clock.
    """

    record = models.ForeignKey(
        EscalationRecord, on_delete=models.CASCADE, related_name="acknowledgements"
    )
    contact = models.ForeignKey(
        EscalationContact,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="acknowledgements",
    )
    email = models.EmailField()
    acknowledged_at = models.DateTimeField()
    user_agent = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-acknowledged_at"]
        constraints = [
            models.UniqueConstraint(fields=["record", "email"], name="escalation_ack_once"),
        ]

    def __str__(self) -> str:
        return f"{self.email} acknowledged level {self.record.level}"

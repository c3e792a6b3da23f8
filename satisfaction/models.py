"""The client's own rating of a resolution: good or bad, with an optional comment, given
through the signed links in the "resolved" email."""

from django.conf import settings
from django.db import models


class TicketRating(models.Model):
    """One rating per resolution: a reopened and re-resolved ticket can be rated again."""

    class Choice(models.TextChoices):
        GOOD = "good", "Good"
        BAD = "bad", "Bad"

    ticket = models.ForeignKey("tickets.Ticket", on_delete=models.CASCADE, related_name="ratings")
    # The history entry of the change to `resolved` that was rated.
    resolution = models.ForeignKey(
        "tickets.TicketEvent", on_delete=models.CASCADE, related_name="+"
    )
    rated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    choice = models.CharField(max_length=4, choices=Choice.choices)
    comment = models.TextField(blank=True)
    rated_at = models.DateTimeField()
    commented_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-rated_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["ticket", "resolution"], name="rating_once_per_resolution"
            )
        ]
        indexes = [models.Index(fields=["rated_at"], name="rating_rated_at")]

    def __str__(self) -> str:
        return f"{self.get_choice_display()} for ticket {self.ticket_id}"

"""Writes of client satisfaction: a rating from a signed link (once per resolution), and its
optional comment."""

from django.db import IntegrityError, transaction
from django.utils import timezone

from tickets.actors import Actor
from tickets.errors import Conflict, DomainError, NotAllowed
from tickets.models import Ticket
from tickets.selectors import tickets_visible_to

from .links import RatingLink, RatingLinkInvalid, rating_token_read
from .models import TicketRating

COMMENT_MAX_CHARS = 2000


class RatingUsed(Conflict):
    """The link was already used: carries the rating already given (`rating`)."""

    def __init__(self, message: str, *, rating: TicketRating | None):
        super().__init__(message, code="rating_used")
        self.rating = rating


def rating_target(*, token: str, user: Actor) -> tuple[RatingLink, Ticket]:
    """Who may use this link: only the person it was sent to, on a ticket they can still see.
    Raises RatingLinkExpired/Invalid (410/404), NotAllowed (403) or a 404 for a ticket
    outside their sites (never saying it exists)."""
    link = rating_token_read(token=token)
    if link.user_id != user.pk:
        raise NotAllowed(
            "This rating link was sent to someone else: only they can use it.",
            code="rating_other_user",
        )
    ticket = tickets_visible_to(user).select_related("site").filter(pk=link.ticket_id).first()
    if ticket is None:
        raise RatingLinkInvalid
    return link, ticket


def rating_existing(*, link: RatingLink) -> TicketRating | None:
    return TicketRating.objects.filter(
        ticket_id=link.ticket_id, resolution_id=link.resolution_id
    ).first()


@transaction.atomic
def rating_record(*, token: str, user: Actor) -> TicketRating:
    """Record the rating the link carries. A link works once: a second use (either choice)
    raises Conflict carrying the rating already given (`exc.rating`)."""
    link, ticket = rating_target(token=token, user=user)
    existing = rating_existing(link=link)
    if existing is None:
        try:
            with transaction.atomic():
                return TicketRating.objects.create(
                    ticket=ticket,
                    resolution_id=link.resolution_id,
                    rated_by=user,
                    choice=link.choice,
                    rated_at=timezone.now(),
                )
        except IntegrityError:  # the other link, clicked at the same moment
            existing = rating_existing(link=link)
    raise RatingUsed("This link was already used: the resolution is rated.", rating=existing)


@transaction.atomic
def rating_comment(*, token: str, user: Actor, comment: str) -> TicketRating:
    """Add the optional comment to the rating given with this link (once)."""
    link, _ = rating_target(token=token, user=user)
    rating = (
        TicketRating.objects.select_for_update()
        .filter(ticket_id=link.ticket_id, resolution_id=link.resolution_id)
        .first()
    )
    if rating is None:
        raise Conflict("Rate the resolution first, with a link from the email.", code="not_rated")
    comment = (comment or "").strip()
    if not comment:
        raise DomainError("Write a comment, or leave the page.", field="comment")
    if len(comment) > COMMENT_MAX_CHARS:
        raise DomainError(
            f"Keep the comment under {COMMENT_MAX_CHARS} characters.", field="comment"
        )
    if rating.comment:
        raise Conflict("A comment is already recorded for this rating.", code="comment_given")
    rating.comment = comment
    rating.commented_at = timezone.now()
    rating.save(update_fields=["comment", "commented_at"])
    return rating

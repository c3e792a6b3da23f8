"""The signed rating links: ticket, reporter, resolution and choice, signed with SECRET_KEY and
valid for RATING_LINK_MAX_AGE_DAYS. Emails carry them; `services` reads them back."""

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.urls import reverse

from tickets.errors import DomainError

SALT = "satisfaction.rating"


class RatingLinkInvalid(DomainError):
    status_code = 404

    def __init__(self) -> None:
        super().__init__("This rating link is not valid.", code="rating_link_invalid")


class RatingLinkExpired(DomainError):
    status_code = 410

    def __init__(self) -> None:
        days = settings.RATING_LINK_MAX_AGE_DAYS
        super().__init__(
            f"This rating link has expired: links work for {days} days after the ticket is "
            "resolved.",
            code="rating_link_expired",
        )


@dataclass(frozen=True)
class RatingLink:
    ticket_id: int
    user_id: int
    resolution_id: int
    choice: str


def rating_token_make(*, ticket_id: int, user_id: int, resolution_id: int, choice: str) -> str:
    return signing.dumps(
        {"t": ticket_id, "u": user_id, "r": resolution_id, "c": choice}, salt=SALT, compress=True
    )


def rating_token_read(*, token: str) -> RatingLink:
    """The link's content; raises RatingLinkExpired or RatingLinkInvalid."""
    max_age = timedelta(days=settings.RATING_LINK_MAX_AGE_DAYS)
    try:
        data = signing.loads(token, salt=SALT, max_age=max_age)
    except signing.SignatureExpired as exc:
        raise RatingLinkExpired from exc
    except signing.BadSignature as exc:
        raise RatingLinkInvalid from exc
    try:
        link = RatingLink(
            ticket_id=int(data["t"]),
            user_id=int(data["u"]),
            resolution_id=int(data["r"]),
            choice=str(data["c"]),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise RatingLinkInvalid from exc
    if link.choice not in ("good", "bad"):
        raise RatingLinkInvalid
    return link


def rating_links(*, ticket_id: int, user_id: int, resolution_id: int) -> dict[str, str]:
    """The two absolute links of a "resolved" email: {"good": url, "bad": url}."""
    return {
        choice: settings.PORTAL_BASE_URL
        + reverse(
            "rating",
            args=[
                rating_token_make(
                    ticket_id=ticket_id,
                    user_id=user_id,
                    resolution_id=resolution_id,
                    choice=choice,
                )
            ],
        )
        for choice in ("good", "bad")
    }

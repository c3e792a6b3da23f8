"""What staff do beside tickets: resend failed notifications, choose their time zone."""

from collections.abc import Iterable

from django.db import transaction

from ..actors import Actor
from ..errors import DomainError, NotAllowed
from ..models import (
    Notification,
    UserPreference,
    validate_timezone,
)
from ..outbox import notifications_requeue
from ..selectors import is_staff
from .common import clean_text


@transaction.atomic
def notifications_resend(*, notification_ids: Iterable[int], actor: Actor) -> int:
    """Put failed notifications back in the outbox with a fresh retry budget (staff only) and
    kick delivery after commit; returns how many were queued again."""
    if not is_staff(actor):
        raise NotAllowed("Only Rx.Health staff resend notifications.")
    ids = [int(pk) for pk in notification_ids]
    return notifications_requeue(
        notifications=Notification.objects.filter(pk__in=ids, status=Notification.Status.FAILED)
    )


@transaction.atomic
def user_timezone_set(*, user: Actor, timezone_name: str) -> UserPreference:
    """Choose the time zone the back office shows this person's times in ("" for each
    ticket's site's zone)."""
    timezone_name = clean_text(timezone_name, field="timezone", max_length=64, required=False)
    if timezone_name:
        try:
            validate_timezone(timezone_name)
        except Exception as exc:
            raise DomainError("Choose a time zone from the list.", field="timezone") from exc
    preference, _ = UserPreference.objects.update_or_create(
        user=user, defaults={"timezone": timezone_name}
    )
    return preference

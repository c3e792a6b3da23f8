"""A major incident's update, posted once for all its tickets: a public staff reply on every
linked open ticket, in batches of constant queries, and one email per person."""

from django.db import transaction
from django.utils import timezone

from . import notify, signals
from .actors import Actor
from .errors import NotAllowed
from .models import (
    OPEN_STATUSES,
    Comment,
    MajorIncident,
    MajorIncidentUpdate,
    Status,
    Ticket,
    TicketEvent,
)
from .selectors import is_staff
from .services import clean_text

# Tickets per transaction when an update is broadcast; every batch costs the same queries.
BROADCAST_BATCH_SIZE = 250


def _require_staff(actor: Actor) -> None:
    if not is_staff(actor):
        raise NotAllowed("Only Rx.Health staff manage major incidents.")


def _broadcast_batch(
    *,
    update: MajorIncidentUpdate,
    major_incident: MajorIncident,
    author: Actor,
    after_pk: int,
    batch_size: int,
) -> list[Ticket]:
    """One transaction: the reply on a batch of linked open tickets, in a constant number
    of queries. Closed tickets never take replies; resolved ones run on their own."""
    with transaction.atomic():
        tickets = list(
            Ticket.objects.select_for_update(of=("self",))
            .select_related("site", "reporter")
            .filter(
                major_incident=major_incident,
                status__in=OPEN_STATUSES,
                pk__gt=after_pk,
            )
            .order_by("pk")[:batch_size]
        )
        if not tickets:
            return tickets
        comments = Comment.objects.bulk_create(
            Comment(ticket=t, author=author, body=update.body, public=True, by_staff=True)
            for t in tickets
        )
        events = [
            TicketEvent(
                ticket=t,
                actor=author,
                action=TicketEvent.Action.COMMENTED,
                message=f"Update on {major_incident}"[:500],
            )
            for t in tickets
        ]
        # A staff reply puts a new ticket in progress, as on the single-ticket path.
        new = [t for t in tickets if t.status == Status.NEW]
        status_events = [
            TicketEvent(
                ticket=t,
                actor=author,
                action=TicketEvent.Action.STATUS_CHANGED,
                changes={"status": [Status.NEW, Status.IN_PROGRESS]},
            )
            for t in new
        ]
        created = TicketEvent.objects.bulk_create(events + status_events)
        now = timezone.now()
        Ticket.objects.filter(pk__in=[t.pk for t in tickets]).update(updated_at=now)
        if new:
            Ticket.objects.filter(pk__in=[t.pk for t in new]).update(status=Status.IN_PROGRESS)
            for t in new:
                t.status = Status.IN_PROGRESS
        moved = [
            (t, e.pk, Status.NEW, Status.IN_PROGRESS)
            for t, e in zip(new, created[len(events) :], strict=True)
        ]
        signals.replies_broadcast.send(
            sender=Ticket,
            tickets=tickets,
            comments=comments,
            actor=author,
            moved=moved,
            broadcast_id=update.pk,
            headline=major_incident.title,
        )
        notify.major_incident_update_notify(
            tickets=tickets, broadcast_id=update.pk, headline=major_incident.title
        )
        return tickets


def major_incident_update_post(
    *,
    major_incident: MajorIncident,
    author: Actor,
    body: str,
    public: bool = True,
    batch_size: int = BROADCAST_BATCH_SIZE,
) -> MajorIncidentUpdate:
    """Post an update (staff only). A public one becomes a public staff reply on every
    linked open ticket, one transaction per batch, and each person of the affected sites is
    emailed once; an internal note stays on the major incident."""
    _require_staff(author)
    body = clean_text(body, field="body", max_length=50_000)
    with transaction.atomic():
        major_incident = MajorIncident.objects.select_for_update().get(pk=major_incident.pk)
        update = MajorIncidentUpdate.objects.create(
            major_incident=major_incident, author=author, body=body, public=bool(public)
        )
        if public:
            major_incident.last_public_update_at = update.created_at
            major_incident.save(update_fields=["last_public_update_at", "updated_at"])
    if not public:
        return update
    done, last_pk = 0, 0
    while True:
        batch = _broadcast_batch(
            update=update,
            major_incident=major_incident,
            author=author,
            after_pk=last_pk,
            batch_size=batch_size,
        )
        done += len(batch)
        if len(batch) < batch_size:
            break
        last_pk = batch[-1].pk
    MajorIncidentUpdate.objects.filter(pk=update.pk).update(ticket_count=done)
    update.ticket_count = done
    return update

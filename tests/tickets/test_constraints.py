import pytest
from django.db import IntegrityError, transaction

from tests.tickets.factories import (
    ClientSiteFactory,
    CommentFactory,
    MembershipFactory,
    TicketFactory,
)
from tickets.models import Notification, Role, SiteMembership, Ticket

pytestmark = pytest.mark.django_db


def test_one_membership_per_user_and_site():
    membership = MembershipFactory(role=Role.PM)
    with pytest.raises(IntegrityError), transaction.atomic():
        SiteMembership.objects.create(user=membership.user, site=membership.site, role="it")


@pytest.mark.parametrize(("kind", "impact"), [("incident", ""), ("general", "high"), ("task", "x")])
def test_database_refuses_impact_mismatches(kind, impact):
    with pytest.raises(IntegrityError), transaction.atomic():
        TicketFactory(kind=kind, impact=impact)


def test_reference_is_unique():
    TicketFactory(reference="RX-2000")
    with pytest.raises(IntegrityError), transaction.atomic():
        TicketFactory(reference="RX-2000")


def test_a_jira_key_names_one_ticket_and_portal_tickets_have_none():
    TicketFactory(jira_key="OPS-1")
    TicketFactory(jira_key=None)
    TicketFactory(jira_key=None)
    with pytest.raises(IntegrityError), transaction.atomic():
        TicketFactory(jira_key="OPS-1")
    assert Ticket.objects.filter(jira_key__isnull=True).count() == 2


def test_internal_note_must_be_by_staff():
    with pytest.raises(IntegrityError), transaction.atomic():
        CommentFactory(public=False, by_staff=False)


def test_outbox_key_is_unique_per_ticket_event_sequence_and_recipient():
    ticket = TicketFactory()
    key = {"ticket": ticket, "event": "client_update", "sequence": 3, "recipient": "a@x.example"}
    Notification.objects.create(**key)
    with pytest.raises(IntegrityError), transaction.atomic():
        Notification.objects.create(**key)
    Notification.objects.create(**{**key, "sequence": 4})
    assert Notification.objects.filter(ticket=ticket).count() == 2


def test_site_timezone_is_validated():
    from django.core.exceptions import ValidationError

    site = ClientSiteFactory.build(timezone="Mars/Olympus")
    with pytest.raises(ValidationError):
        site.full_clean()


def test_ticket_with_history_keeps_its_site():
    ticket = TicketFactory()
    from django.db.models import ProtectedError

    with pytest.raises(ProtectedError):
        ticket.site.delete()
    assert Ticket.objects.filter(pk=ticket.pk).exists()
    assert ClientSiteFactory._meta.model.objects.filter(pk=ticket.site_id).exists()

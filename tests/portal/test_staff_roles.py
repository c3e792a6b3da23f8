"""Staff roles are groups: everyone works the queue; configuration and the scheduler are for
leads and operators."""

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from portal import staff_roles
from tests.tickets.factories import ClientSiteFactory, StaffFactory, TicketFactory

pytestmark = pytest.mark.django_db


def staff_in(client, group_name):
    user = StaffFactory()
    user.groups.add(Group.objects.get(name=group_name))
    client.force_login(user)
    return user


def test_migrate_seeds_the_three_staff_roles_as_groups():
    names = set(Group.objects.values_list("name", flat=True))
    assert {staff_roles.AGENT, staff_roles.LEAD, staff_roles.OPERATOR} <= names


def test_agents_work_the_queue_but_do_not_see_the_scheduler(client):
    staff_in(client, staff_roles.AGENT)
    home = client.get(reverse("admin:index")).content.decode()
    assert "Tickets" in home
    assert "Periodic tasks" not in home and "Crontabs" not in home and "Clocked" not in home
    assert (
        client.get(reverse("admin:django_celery_beat_periodictask_changelist")).status_code == 403
    )


@pytest.mark.parametrize("group", [staff_roles.LEAD, staff_roles.OPERATOR])
def test_leads_and_operators_see_the_scheduler(client, group):
    staff_in(client, group)
    assert "Periodic tasks" in client.get(reverse("admin:index")).content.decode()
    assert (
        client.get(reverse("admin:django_celery_beat_periodictask_changelist")).status_code == 200
    )


def test_a_site_with_tickets_cannot_be_deleted(client):
    from tests.tickets.factories import SuperuserFactory

    client.force_login(SuperuserFactory())
    busy, empty = ClientSiteFactory(), ClientSiteFactory()
    TicketFactory(site=busy)
    busy_page = client.get(reverse("admin:tickets_clientsite_change", args=[busy.pk]))
    assert (
        reverse("admin:tickets_clientsite_delete", args=[busy.pk]) not in busy_page.content.decode()
    )
    assert client.get(reverse("admin:tickets_clientsite_delete", args=[busy.pk])).status_code == 403
    assert (
        client.get(reverse("admin:tickets_clientsite_delete", args=[empty.pk])).status_code == 200
    )


def test_a_sites_time_zone_is_chosen_from_a_list(client):
    from tests.tickets.factories import SuperuserFactory

    client.force_login(SuperuserFactory())
    page = client.get(reverse("admin:tickets_clientsite_add")).content.decode()
    assert '<select name="timezone"' in page
    assert '<option value="America/Chicago">' in page

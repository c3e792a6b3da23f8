import factory
from django.contrib.auth.models import User
from factory.django import DjangoModelFactory

from tickets.models import ClientSite, Comment, Kind, Role, SiteMembership, Status, Ticket


class UserFactory(DjangoModelFactory[User]):
    class Meta:
        model = User
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@hospital.example")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    password = factory.django.Password("correct horse battery staple")


class StaffFactory(UserFactory):
    username = factory.Sequence(lambda n: f"agent{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@rxhealth.example")
    is_staff = True


class SuperuserFactory(StaffFactory):
    username = factory.Sequence(lambda n: f"admin{n}")
    is_superuser = True


class ClientSiteFactory(DjangoModelFactory[ClientSite]):
    class Meta:
        model = ClientSite
        django_get_or_create = ("slug",)

    name = factory.Sequence(lambda n: f"General Hospital {n}")
    slug = factory.Sequence(lambda n: f"general-{n}")
    timezone = "America/New_York"


class MembershipFactory(DjangoModelFactory[SiteMembership]):
    class Meta:
        model = SiteMembership

    user = factory.SubFactory(UserFactory)
    site = factory.SubFactory(ClientSiteFactory)
    role = Role.PM


class TicketFactory(DjangoModelFactory[Ticket]):
    """A ticket row written directly, without clocks or history: for tests of reads.
    Tests of behaviour file tickets through `tickets.services.ticket_create`."""

    class Meta:
        model = Ticket

    reference = factory.Sequence(lambda n: f"RX-{n + 100000}")
    site = factory.SubFactory(ClientSiteFactory)
    reporter = factory.SubFactory(UserFactory)
    kind = Kind.GENERAL
    impact = ""
    status = Status.NEW
    title = factory.Sequence(lambda n: f"Printer queue stuck on ward {n}")
    description = "Label printer on the ward does not print wristbands."


class CommentFactory(DjangoModelFactory[Comment]):
    class Meta:
        model = Comment

    ticket = factory.SubFactory(TicketFactory)
    author = factory.SubFactory(UserFactory)
    body = "Any news on this?"
    public = True
    by_staff = False

"""Demo data for a local look around: two hospital sites, their contacts, Rx.Health staff, the
escalation ladder's contacts and a few tickets. Idempotent: a second run creates nothing."""

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from escalation.models import EscalationContact, EscalationLevel
from evidence.services import evidence_seal
from portal import staff_roles
from portal.staff_roles import staff_roles_sync
from sla.scan import sla_scan_run
from sla.services import sla_clocks_start
from tickets.actors import Actor
from tickets.models import ClientSite, Role, Status, Ticket
from tickets.services import (
    comment_post,
    membership_set,
    ticket_assign,
    ticket_create,
    ticket_status_change,
)

User = get_user_model()

DEMO_PASSWORD = "rx-demo-portal"  # noqa: S105 (a demo login, printed on purpose)

SITES: list[dict[str, Any]] = [
    {
        "slug": "riverside-general",
        "name": "Riverside General Hospital",
        "timezone": "America/New_York",
        "domain": "riversidegeneral.example",
        "people": [
            ("riverside-pm", "Dana", "Whitfield", Role.PM),
            ("riverside-it", "Marcus", "Oyelaran", Role.IT),
            ("riverside-viewer", "Helen", "Brandt", Role.VIEWER),
        ],
        "project_team": [
            ("Samir Haddad", "Project team: technical lead", "samir.haddad"),
            ("Laura Kim, RN", "Project team: clinical lead", "laura.kim"),
        ],
    },
    {
        "slug": "cascade-childrens",
        "name": "Cascade Children's Medical Center",
        "timezone": "America/Los_Angeles",
        "domain": "cascadechildrens.example",
        "people": [
            ("cascade-pm", "Rosa", "Delgado", Role.PM),
            ("cascade-it", "Tom", "Lindqvist", Role.IT),
            ("cascade-viewer", "Priya", "Nair", Role.VIEWER),
        ],
        "project_team": [
            ("Ben Okafor", "Project team: technical lead", "ben.okafor"),
            ("Maria Alvarez, PharmD", "Project team: clinical lead", "maria.alvarez"),
        ],
    },
]

# Site-less contacts: they serve every site.
PROGRAM_LEADS = [
    (3, "Jordan Ellis", "Project Director", "jordan.ellis"),
    (3, "Aisha Rahman", "Tech Services Director", "aisha.rahman"),
]
EXECUTIVES = [
    (4, "Rx.Health executive team", "Executive team", "executive-team"),
]

# (site slug, reporter username, kind, impact, title, description, what staff did, minutes
# ago it was filed). The ages put every state on screen at the first scan, which seed_demo
# runs itself: a breached high incident at level 2 with a client update sent, an at-risk
# request, one waiting on the client, a task met with an estimate, a resolved incident.
TICKETS = [
    (
        "riverside-general",
        "riverside-pm",
        "incident",
        "high",
        "Medication dispensing screen will not load on any ward",
        "Since 07:40 every ward station shows a spinner on the dispensing screen.",
        "assign",
        70,
    ),
    (
        "riverside-general",
        "riverside-it",
        "task",
        "",
        "Add two new pharmacy technicians to the platform",
        "Please create accounts for the two technicians starting on Monday.",
        "reply_with_estimate",
        90,
    ),
    (
        "riverside-general",
        "riverside-pm",
        "general",
        "",
        "Where can we find the release notes for the spring update?",
        "Our training team wants to prepare material before the update.",
        "",
        6 * 60 + 20,
    ),
    (
        "cascade-childrens",
        "cascade-it",
        "incident",
        "medium",
        "Reports export times out for the oncology unit",
        "Exports of more than a week of data stop after about a minute.",
        "waiting_on_client",
        40,
    ),
    (
        "cascade-childrens",
        "cascade-pm",
        "change",
        "",
        "Change the default dose rounding for pediatric weights",
        "Clinical leadership approved rounding to 0.1 mL for patients under 10 kg.",
        "",
        10,
    ),
    (
        "cascade-childrens",
        "cascade-it",
        "incident",
        "low",
        "Printer icon missing on one nursing station",
        "Station 4B does not show the print button; the others do.",
        "resolved",
        180,
    ),
]

QUESTION = (
    "Which date range and which report were you exporting when it stopped? "
    "A screenshot of the error would help too."
)


def demo_email(first: str, last: str, domain: str) -> str:
    return f"{first.lower()}.{last.lower()}@{domain}"


class Command(BaseCommand):
    help = (
        "Create demo data (sites, users, escalation contacts, tickets) and print how to log in. "
        "Safe to run again: it creates nothing that exists."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--allow-production",
            action="store_true",
            help="Seed even when HTTPS is on (the demo logins share one known password).",
        )

    def handle(self, *args: Any, allow_production: bool = False, **options: Any) -> None:
        if settings.HTTPS and not allow_production:
            raise CommandError(
                "HTTPS is on, so this looks like a production system: the demo users share a "
                "known password. Pass --allow-production to seed anyway."
            )
        created: dict[str, int] = {"sites": 0, "users": 0, "contacts": 0, "tickets": 0}
        with transaction.atomic():
            agents = self._group(staff_roles.AGENT)
            admin = self._user("admin", "Avery", "Morgan", "rxhealth.example", created, staff=True)
            if not admin.is_superuser:
                admin.is_superuser = True
                admin.save(update_fields=["is_superuser"])
            agent = self._user("agent", "Chris", "Patel", "rxhealth.example", created, staff=True)
            agent.groups.add(agents)
            sites = {}
            for spec in SITES:
                site, made = ClientSite.objects.get_or_create(
                    slug=spec["slug"], defaults={"name": spec["name"], "timezone": spec["timezone"]}
                )
                created["sites"] += made
                sites[site.slug] = site
                for username, first, last, role in spec["people"]:
                    user = self._user(username, first, last, spec["domain"], created)
                    membership_set(site=site, user=user, role=role)
            self._contacts(sites, created)
        # Tickets go through the ticket services, each in its own transaction, so the SLA
        # clocks start and the receipts go out as they would for a real filing.
        for ticket_spec in TICKETS:
            created["tickets"] += self._ticket(ticket_spec, sites, agent)
        if created["tickets"]:
            # One scan now, so breaches, warnings, client updates and escalations are on screen
            # at once rather than after beat's first pass.
            counts = sla_scan_run()
            self.stdout.write("SLA scan: " + ", ".join(f"{v} {k}" for k, v in counts.items() if v))
        # Seal what the demo did into the evidence chains (the worker seals the sends later).
        self.stdout.write(f"Evidence: {evidence_seal()} facts sealed into the ticket chains")
        self._print_logins(created)

    def _group(self, name: str) -> Group:
        staff_roles_sync()  # the groups exist after migrate; this keeps them true
        return Group.objects.get(name=name)

    def _user(
        self, username: str, first: str, last: str, domain: str, created: dict, staff: bool = False
    ) -> Any:
        user, made = User.objects.get_or_create(
            username=username,
            defaults={
                "first_name": first,
                "last_name": last,
                "email": demo_email(first, last, domain),
                "is_staff": staff,
            },
        )
        created["users"] += made
        if made or not user.check_password(DEMO_PASSWORD):
            # Keep the printed login true even if someone changed it.
            user.set_password(DEMO_PASSWORD)
            user.save(update_fields=["password"])
        return user

    def _contacts(self, sites: dict[str, ClientSite], created: dict) -> None:
        levels = {level.number: level for level in EscalationLevel.objects.all()}
        rows: list[tuple[int, str, str, str, str, ClientSite | None]] = [
            (
                1,
                "Rx.Health support queue",
                "Support portal (staff queue)",
                settings.SUPPORT_QUEUE_EMAIL,
                "",
                None,
            )
        ]
        for spec in SITES:
            for name, role, local in spec["project_team"]:
                rows.append(
                    (
                        2,
                        name,
                        role,
                        f"{local}@rxhealth.example",
                        settings.SUPPORT_PHONE,
                        sites[spec["slug"]],
                    )
                )
        for level, name, role, local in PROGRAM_LEADS + EXECUTIVES:
            rows.append((level, name, role, f"{local}@rxhealth.example", "", None))
        for level, name, role, email, phone, site in rows:
            _, made = EscalationContact.objects.get_or_create(
                email=email,
                level=levels[level],
                site=site,
                defaults={"name": name, "role": role, "phone": phone},
            )
            created["contacts"] += made

    def _ticket(self, spec: tuple, sites: dict[str, ClientSite], agent: Actor) -> int:
        slug, username, kind, impact, title, description, done, age_minutes = spec
        site = sites[slug]
        if Ticket.objects.filter(site=site, title=title).exists():
            return 0
        reporter = User.objects.get(username=username)
        ticket = ticket_create(
            actor=reporter,
            site=site,
            kind=kind,
            impact=impact,
            title=title,
            description=description,
        )
        if age_minutes:
            # Demo data only: file it in the past, then let the SLA set its clocks from then.
            with transaction.atomic():
                Ticket.objects.filter(pk=ticket.pk).update(
                    created_at=timezone.now() - timedelta(minutes=age_minutes)
                )
                ticket = Ticket.objects.select_related("site", "reporter").get(pk=ticket.pk)
                sla_clocks_start(ticket=ticket)
        if done in ("assign", "reply_with_estimate", "waiting_on_client", "resolved"):
            ticket = ticket_assign(ticket=ticket, actor=agent, assignee=agent)
        if done in ("reply_with_estimate", "resolved"):
            comment_post(
                ticket=ticket,
                author=agent,
                body="Thanks, we are on it. We will keep you posted here.",
                estimated_resolution_at=timezone.now() + timedelta(days=2),
            )
        if done == "waiting_on_client":
            comment_post(ticket=ticket, author=agent, body=QUESTION)
        if done == "waiting_on_client":
            ticket_status_change(ticket=ticket, actor=agent, status=Status.WAITING_ON_CLIENT)
        if done == "resolved":
            ticket_status_change(ticket=ticket, actor=agent, status=Status.RESOLVED)
        return 1

    def _print_logins(self, created: dict) -> None:
        made = ", ".join(f"{count} {name}" for name, count in created.items())
        self.stdout.write(self.style.SUCCESS(f"Demo data ready (created: {made})."))
        base = settings.PORTAL_BASE_URL
        lines = [
            "",
            f"Open {base}/  (client portal)   {base}/admin/  (staff back office)",
            f"Every demo user's password: {DEMO_PASSWORD}. Sign in with the email (the portal)",
            "or the username (the back office). Emails print one line each here; the full",
            "messages are in the back office under Notifications.",
            "",
            f"  {'admin':<17} {'avery.morgan@rxhealth.example':<44} superuser (everything)",
            f"  {'agent':<17} {'chris.patel@rxhealth.example':<44} Rx.Health support agent",
        ]
        for spec in SITES:
            for username, first, last, role in spec["people"]:
                email = demo_email(first, last, spec["domain"])
                lines.append(f"  {username:<17} {email:<44} {Role(role).label}, {spec['name']}")
        self.stdout.write("\n".join(lines) + "\n")

"""Every changelist of the back office, opened as a superuser: each column header is the
label of its own column, none is missing, duplicated or borrowed from another method."""

import re
from datetime import UTC, datetime
from html import unescape

import pytest
from django.contrib import admin
from django.contrib.admin.templatetags.admin_list import result_headers
from django.contrib.admin.utils import label_for_field
from django.urls import reverse
from django.utils.text import capfirst

from sla.models import BusinessCalendar, Holiday, ScanRun, SLAPolicy, WorkingPeriod
from tests.tickets.factories import (
    ClientSiteFactory,
    CommentFactory,
    MembershipFactory,
    SuperuserFactory,
    TicketFactory,
)
from tickets.models import Kind, Notification, TicketEvent

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 26, 15, 0, tzinfo=UTC)
HEADER = re.compile(r'<th scope="col" class="([^"]*)">.*?<div class="text">(.*?)</div>', re.S)
OURS = {"tickets", "sla", "escalation", "inbound", "portal", "api"}
# What `admin.display` leaves on a method; a column method with none of them was not given
# its decorator (it sits on another method).
DISPLAY_ATTRS = ("short_description", "admin_order_field", "boolean", "empty_value_display")
# ModelAdmin's own hooks: a display label on one of them belongs to the column next to it.
HOOKS = {name for name in dir(admin.ModelAdmin) if not name.startswith("_")}


def _text(html: str) -> str:
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


def _rows() -> None:
    site = ClientSiteFactory()
    MembershipFactory(site=site)
    ticket = TicketFactory(site=site, kind=Kind.INCIDENT, impact="high")
    CommentFactory(ticket=ticket)
    TicketEvent.objects.create(ticket=ticket, action=TicketEvent.Action.CREATED)
    Notification.objects.create(ticket=ticket, event="ticket_filed", recipient="pm@h.example")
    ScanRun.objects.create(started_at=NOW, finished_at=NOW, counts={"breaches": 1})
    calendar = BusinessCalendar.objects.create(name="Office hours")
    WorkingPeriod.objects.create(calendar=calendar, weekday=0, start="09:00", end="17:00")
    Holiday.objects.create(calendar=calendar, date="2026-12-25", name="Christmas")
    assert SLAPolicy.objects.exists()  # seeded by the migrations


def test_every_changelist_header_is_the_label_of_its_own_column(client):
    client.force_login(SuperuserFactory())
    _rows()
    problems, read = [], 0
    for model, model_admin in admin.site._registry.items():
        name = f"{model._meta.app_label}.{model._meta.model_name}"
        for hook in HOOKS:
            if getattr(getattr(type(model_admin), hook, None), "short_description", None):
                problems.append(f"{name}: {hook}() carries a column label")
        response = client.get(
            reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        )
        assert response.status_code == 200, name
        cl = response.context["cl"]
        columns = [c for c in cl.list_display if c != "action_checkbox"]
        headers = [
            capfirst(str(h["text"]))
            for h in result_headers(cl)
            if "action-checkbox-column" not in str(h["class_attrib"])
        ]
        expected = [capfirst(str(label_for_field(c, model, model_admin))) for c in columns]
        if headers != expected:
            problems.append(f"{name}: headers {headers} for columns {expected}")
        if len(set(headers)) != len(headers):
            problems.append(f"{name}: a header appears twice in {headers}")
        for column in columns:
            method = getattr(type(model_admin), column, None)
            ours = model._meta.app_label in OURS and column != "__str__"
            if ours and callable(method) and not any(hasattr(method, a) for a in DISPLAY_ATTRS):
                problems.append(f"{name}: column {column} has no admin.display of its own")
        # Where the page drew rows, its table says the same.
        drawn = [
            (cls, _text(html))
            for cls, html in HEADER.findall(response.content.decode())
            if "action-checkbox-column" not in cls
        ]
        if drawn:
            read += 1
            if [text for _, text in drawn] != expected:
                problems.append(f"{name}: the page shows {drawn}, expected {expected}")
    assert not problems, "\n".join(problems)
    # The pages staff use most drew their tables (the check read real headers).
    assert read >= 8

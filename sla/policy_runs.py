"""Which version of its SLA policy each ticket runs on (`TicketPolicyRun`): the evidence of
which commitment applied when. Written by `sla.services` inside the transaction that sets the
ticket's clocks; read by the back office's ticket page and the API."""

from datetime import datetime

from django.db import models

from history.models import Version
from history.services import version_current
from tickets.models import Ticket

from .models import SLAPolicy, TicketPolicyRun


def policy_run_record(
    *, ticket: Ticket, policy: SLAPolicy | None, since: datetime, reason: str
) -> TicketPolicyRun | None:
    """Record that the ticket runs on the policy's current version (and its calendar's) from
    `since`, unless that is already the version in force. Runs in the caller's transaction."""
    policy_version = _version_of(policy) if policy is not None else None
    calendar_version = (
        _version_of(policy.calendar) if policy is not None and policy.calendar is not None else None
    )
    current = policy_run_current(ticket=ticket)
    if (
        current is not None
        and current.policy_version_id == getattr(policy_version, "pk", None)
        and current.calendar_version_id == getattr(calendar_version, "pk", None)
    ):
        return None
    return TicketPolicyRun.objects.create(
        ticket=ticket,
        policy=policy,
        policy_version=policy_version,
        calendar_version=calendar_version,
        since=since,
        reason=reason[:200],
    )


def _version_of(instance: models.Model) -> Version:
    """The row's current version, read once per loaded instance: a re-target or an import
    passes one policy instance for its whole batch, so its versions cost one query per batch,
    not one per ticket (as the calendar's periods do in `WorkingTime.of`)."""
    cached = instance.__dict__.get("_current_version")
    if cached is None:
        cached = instance.__dict__["_current_version"] = version_current(instance=instance)
    return cached


def policy_run_current(*, ticket: Ticket) -> TicketPolicyRun | None:
    """The policy version a ticket runs on now, or None (filed before versions were kept)."""
    return (
        TicketPolicyRun.objects.select_related("policy_version", "calendar_version", "policy")
        .filter(ticket=ticket)
        .order_by("-since", "-id")
        .first()
    )


def policy_runs_of(*, ticket: Ticket) -> list[TicketPolicyRun]:
    """Every policy version the ticket ran on, newest first."""
    return list(
        TicketPolicyRun.objects.select_related("policy_version", "calendar_version", "policy")
        .filter(ticket=ticket)
        .order_by("-since", "-id")
    )


def policy_run_words(run: TicketPolicyRun) -> str:
    """ "SLA policy Incident (High), version 3" (and its calendar's version), for people."""
    version: Version | None = run.policy_version
    if version is None:
        return "No SLA policy"
    words = f"SLA policy {version.object_repr}, version {version.number}"
    if run.calendar_version is not None:
        words += (
            f" (calendar {run.calendar_version.object_repr}, version {run.calendar_version.number})"
        )
    return words

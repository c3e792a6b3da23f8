"""Account emails (invitations, password-reset links) through the notification outbox, like
every other email: a row without a ticket, with its own key, delivered by the same loop with
its leases, retries and ledger.

These emails carry a link that signs a person in, so the link is never stored: the row holds
whom it is for and why, the link is minted when the message goes out (a retry mints a fresh
one), and the body the ledger keeps says that a link was sent, not the link. The rows use
their own channel, `account`, whose sender renders and sends the message itself for that
reason (the email channel keeps what it sent)."""

from collections.abc import Callable

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.tokens import default_token_generator
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from .actors import Actor
from .models import Notification, SiteMembership
from .outbox import notifications_enqueue

CHANNEL = Notification.Channel.ACCOUNT
Event = Notification.Event

# What the ledger keeps of a sent account email instead of its body.
LEDGER_BODY = "Sent with a sign-in link; the link is only in the message, never stored."


def invitation_enqueue(*, membership: SiteMembership, new_account: bool, inviter) -> None:
    """Write the invitation email of a new membership in the caller's transaction: a link to
    choose a password (accounts without one), else to sign in. Never a password, never ticket
    content. Keyed by the membership, so one invitation goes out per membership."""
    user = membership.user
    notifications_enqueue(
        ticket=None,
        event=Event.INVITATION,
        sequence=membership.pk,
        channel=CHANNEL,
        recipients=[user.email],
        subject=_subject("invitation", {"site": membership.site}),
        context={
            "user_id": user.pk,
            "site": membership.site.name,
            "role": membership.get_role_display(),
            "inviter": inviter.get_full_name() or inviter.email,
            "new_account": new_account or not user.has_usable_password(),
        },
    )


def password_reset_enqueue(*, user) -> None:
    """Write a password-reset email for this user. Keyed by the minute it was asked for, so a
    form sent twice in a row sends one message, and a later request another."""
    notifications_enqueue(
        ticket=None,
        event=Event.PASSWORD_RESET,
        sequence=int(timezone.now().timestamp() // 60),
        channel=CHANNEL,
        recipients=[user.email],
        subject=_subject("password_reset", {}),
        context={"user_id": user.pk},
    )


def _subject(template: str, context: dict) -> str:
    subject = render_to_string(f"emails/{template}_subject.txt", context)
    return " ".join(subject.split())[:300]


def _uid_token(user: Actor) -> tuple[str, str]:
    """The link's two parts, minted now: it stops working once the password is set."""
    return urlsafe_base64_encode(force_bytes(user.pk)), default_token_generator.make_token(user)


def _invitation(row: Notification, user: Actor) -> tuple[str, dict]:
    context = {
        **row.context,
        "site": {"name": row.context.get("site", "")},
        "support_phone": settings.SUPPORT_PHONE,
        "expires_days": max(1, settings.PASSWORD_RESET_TIMEOUT // 86400),
    }
    if context["new_account"] and not user.has_usable_password():
        path = reverse("invitation-accept", args=_uid_token(user))
        context["link"] = settings.PORTAL_BASE_URL + path
    else:
        context["new_account"] = False
        context["link"] = settings.PORTAL_BASE_URL + reverse("login")
    return "invitation", context


def _password_reset(row: Notification, user: Actor) -> tuple[str, dict]:
    uid, token = _uid_token(user)
    return "password_reset", {"base_url": settings.PORTAL_BASE_URL, "uid": uid, "token": token}


BUILDERS: dict[str, Callable[[Notification, Actor], tuple[str, dict]]] = {
    Event.INVITATION: _invitation,
    Event.PASSWORD_RESET: _password_reset,
}


def account_email_send(row: Notification) -> None:
    """The `account` channel's sender: render with a freshly minted link and send; raises on
    failure, so the outbox retries. The row keeps the subject and a note, not the link."""
    user = get_user_model().objects.filter(pk=row.context.get("user_id"), is_active=True).first()
    if user is None or user.email.strip().lower() != row.recipient.strip().lower():
        # The account went away or changed address since: nothing to send, nothing to retry.
        row.body_text = "Not sent: the account is inactive or its address changed."
        return
    template, context = BUILDERS[row.event](row, user)
    subject = _subject(template, context)
    message = EmailMultiAlternatives(
        subject,
        render_to_string(f"emails/{template}.txt", context),
        to=[row.recipient],
        headers={"Auto-Submitted": "auto-generated"},
    )
    message.attach_alternative(render_to_string(f"emails/{template}.html", context), "text/html")
    message.send()
    row.subject, row.body_text, row.body_html = subject, LEDGER_BODY, ""

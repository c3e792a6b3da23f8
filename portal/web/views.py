"""The client portal's pages. Thin: read through tickets.selectors (tenancy lives there), write
through tickets.services, and turn a service's DomainError into a form error or a message."""

import logging
import smtplib
from collections import defaultdict

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import PasswordResetForm
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import PermissionDenied
from django.core.mail import EmailMultiAlternatives
from django.core.paginator import Paginator
from django.db.models import Case, F, Value, When
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse, reverse_lazy
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django.views.decorators.http import require_POST

from escalation.models import EscalationLevel
from escalation.selectors import escalation_history, escalation_panel
from portal.backoffice.selectors import tickets_with_due
from portal.downloads import attachment_response
from sla.models import SLAPolicy
from sla.selectors import policy_for
from tickets import services
from tickets.actors import AuthenticatedHttpRequest
from tickets.errors import DomainError, NotAllowed
from tickets.impact import QUESTIONS as IMPACT_QUESTIONS
from tickets.impact import impact_table_json
from tickets.models import (
    FILING_ROLES,
    OPEN_STATUSES,
    Impact,
    Kind,
    Role,
    SiteMembership,
    Status,
    Ticket,
)
from tickets.selectors import (
    attachments_visible_to,
    is_staff,
    major_incident_banners,
    membership_role,
    sites_visible_to,
    sites_where_can_file,
    ticket_get_visible,
    ticket_thread,
    tickets_search,
    tickets_visible_to,
)

from .forms import (
    DashboardFilterForm,
    EmailLoginForm,
    InviteForm,
    ReplyForm,
    RoleForm,
    StatusForm,
    TicketCreateForm,
    domain_error_to_form,
)

logger = logging.getLogger("portal.web")

CANNOT_FILE = (
    "Only a site's project managers and IT staff can file or reply to tickets. "
    "Ask your site's project manager if you need to."
)

# Plain-language help for the impact chooser, from the support document.
IMPACT_HELP: dict[str, str] = {
    Impact.HIGH: "The platform or service is completely unavailable, or so degraded for "
    "multiple users that it is unusable, or the issue impacts revenue or time-sensitive "
    "regulatory compliance.",
    Impact.MEDIUM: "Limited functionality or marginally degraded capacity or performance for "
    "multiple users (more than 5% of all users).",
    Impact.LOW: "No more than 5% of users cannot use the service, or a non-critical component "
    "is unavailable, or a feature is unavailable and another can readily be used.",
}
KIND_HELP: dict[str, str] = {
    Kind.GENERAL: "A question about the platform or how to do something.",
    Kind.TASK: "Routine work for Rx.Health to do, such as adding a user or a printer.",
    Kind.CHANGE: "A change to configuration, interfaces or workflow at your site.",
    Kind.INCIDENT: "Something is broken, slow or unavailable.",
}


# ACCOUNTS


class LoginView(auth_views.LoginView):
    form_class = EmailLoginForm
    redirect_authenticated_user = True


class MemberPasswordResetForm(PasswordResetForm):
    """Also lets an invited member who never set a password ask for a new link."""

    def get_users(self, email):
        users = get_user_model()._default_manager.filter(email__iexact=email, is_active=True)
        for user in users:
            invited = not user.is_staff and user.site_memberships.exists()
            if user.has_usable_password() or invited:
                yield user


class PasswordResetView(auth_views.PasswordResetView):
    form_class = MemberPasswordResetForm
    email_template_name = "emails/password_reset.txt"
    html_email_template_name = "emails/password_reset.html"
    subject_template_name = "emails/password_reset_subject.txt"

    @property
    def extra_email_context(self):
        return {"base_url": settings.PORTAL_BASE_URL}


class InvitationAcceptView(auth_views.PasswordResetConfirmView):
    """The link in an invitation: the new member chooses a password, then signs in."""

    template_name = "registration/invitation_accept.html"
    success_url = reverse_lazy("dashboard")
    post_reset_login = True
    post_reset_login_backend = "portal.web.auth.EmailBackend"

    def form_valid(self, form):
        response = super().form_valid(form)
        messages.success(self.request, "Your password is set. Welcome to Rx.Health support.")
        return response


# DASHBOARD


@login_required
def dashboard(request: AuthenticatedHttpRequest) -> HttpResponse:
    user = request.user
    sites = list(sites_visible_to(user).order_by("name"))
    form = DashboardFilterForm(request.GET or None, sites=sites)
    f = form.filters() if request.GET else DashboardFilterForm(sites=sites).filters()
    tickets = tickets_visible_to(user).select_related("site")
    if f["state"] == "open":
        tickets = tickets.filter(status__in=OPEN_STATUSES)
    elif f["state"] == "closed":
        tickets = tickets.exclude(status__in=OPEN_STATUSES)
    if f["status"]:
        tickets = tickets.filter(status=f["status"])
    if f["kind"]:
        tickets = tickets.filter(kind=f["kind"])
    if f["site"]:
        tickets = tickets.filter(site__slug=f["site"])
    if f["q"]:
        tickets = tickets_search(tickets, term=f["q"])
    # What needs the client first: tickets waiting on them, then open ones by time to breach.
    tickets = tickets_with_due(tickets).annotate(
        attention=Case(
            When(status=Status.WAITING_ON_CLIENT, then=Value(0)),
            When(status__in=OPEN_STATUSES, then=Value(1)),
            default=Value(2),
        )
    )
    tickets = tickets.order_by("attention", F("due_at").asc(nulls_last=True), "-created_at", "-id")
    page = Paginator(tickets, settings.PORTAL_DASHBOARD_PAGE_SIZE).get_page(request.GET.get("page"))
    high_open = list(
        tickets_visible_to(user)
        .filter(kind=Kind.INCIDENT, impact=Impact.HIGH, status__in=OPEN_STATUSES)
        .order_by("-created_at")
        .values_list("reference", "title", "status")[:5]
    )
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "portal/dashboard.html",
        {
            "page": page,
            "form": form,
            "filters": f,
            "query": query.urlencode(),
            "high_open": high_open,
            "high_waiting_on_client": any(s == Status.WAITING_ON_CLIENT for _, _, s in high_open),
            "major_incidents": major_incident_banners(user=user),
            "multi_site": len(sites) > 1,
            "can_file": sites_where_can_file(user).exists(),
        },
    )


# NEW TICKET


def _policies() -> dict[str, SLAPolicy]:
    return {f"{p.kind}:{p.impact}": p for p in SLAPolicy.objects.all()}


@login_required
def ticket_new(request: AuthenticatedHttpRequest) -> HttpResponse:
    sites = sites_where_can_file(request.user).order_by("name")
    if not sites.exists():
        raise PermissionDenied(CANNOT_FILE)
    if request.method == "POST":
        form = TicketCreateForm(request.POST, request.FILES, sites=sites)
    else:
        form = TicketCreateForm(sites=sites)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            ticket = services.ticket_create(
                actor=request.user,
                site=data["site"],
                kind=data["kind"],
                impact=data["impact"],
                title=data["title"],
                description=data["description"],
                files=data["attachments"],
            )
        except NotAllowed as exc:
            raise PermissionDenied(exc.message) from exc
        except DomainError as exc:
            domain_error_to_form(form, exc, {"file": "attachments"})
        else:
            messages.success(request, f"{ticket.reference} is filed. Rx.Health has been alerted.")
            return redirect("ticket-detail", reference=ticket.reference)
    policies = _policies()
    kinds = [
        {
            "value": value,
            "label": label,
            "help": KIND_HELP[value],
            "policy": policies.get(f"{value}:"),
        }
        for value, label in Kind.choices
    ]
    impacts = [
        {
            "value": value,
            "label": label,
            "help": IMPACT_HELP[value],
            "policy": policies.get(f"{Kind.INCIDENT}:{value}"),
        }
        for value, label in Impact.choices
    ]
    return render(
        request,
        "portal/ticket_new.html",
        {
            "form": form,
            "kinds": kinds,
            "impacts": impacts,
            "impact_questions": IMPACT_QUESTIONS,
            "impact_table": impact_table_json(),
            "max_mb": settings.ATTACHMENT_MAX_BYTES // (1024 * 1024),
            "allowed_types": settings.ATTACHMENT_ALLOWED_TYPES,
        },
        status=400 if form.is_bound and form.errors else 200,
    )


# TICKET PAGE


def _ticket_or_404(request: HttpRequest, reference: str) -> Ticket:
    if "\x00" in reference:  # PostgreSQL refuses NUL in a query: not a reference anyway
        raise Http404("No such ticket.")
    try:
        return ticket_get_visible(user=request.user, reference=reference)
    except Ticket.DoesNotExist as exc:
        raise Http404("No such ticket.") from exc


def _can_write(user, ticket: Ticket) -> bool:
    return is_staff(user) or membership_role(user=user, site=ticket.site) in FILING_ROLES


def _ticket_page(
    request: AuthenticatedHttpRequest,
    ticket: Ticket,
    reply_form: ReplyForm | None = None,
    status: int = 200,
) -> HttpResponse:
    user = request.user
    thread = ticket_thread(user=user, ticket=ticket)
    by_comment = defaultdict(list)
    ticket_files = []
    for attachment in attachments_visible_to(user).filter(ticket=ticket).order_by("created_at"):
        if attachment.comment_id:
            by_comment[attachment.comment_id].append(attachment)
        else:
            ticket_files.append(attachment)
    for entry in thread:
        if entry.comment is not None:
            entry.files = by_comment.get(entry.comment.pk, [])
    can_write = _can_write(user, ticket)
    level = EscalationLevel.objects.filter(number=ticket.escalation_level).first()
    now = timezone.now()
    context = {
        "ticket": ticket,
        "thread": thread,
        # What "waiting on you" waits for: Rx.Health's latest public reply.
        "question": next((e for e in reversed(thread) if e.kind == "staff"), None),
        "ticket_files": ticket_files,
        "can_write": can_write,
        "is_open": ticket.is_open,
        "level": level,
        "policy": policy_for(kind=ticket.kind, impact=ticket.impact),
        "response_overdue": bool(
            ticket.response_due_at and ticket.response_due_at <= now and not ticket.responded_at
        ),
        "escalation": escalation_panel(ticket=ticket, user=user),
        "escalations": list(escalation_history(ticket=ticket)),
        "reply_form": reply_form or ReplyForm(),
        "max_mb": settings.ATTACHMENT_MAX_BYTES // (1024 * 1024),
    }
    return render(request, "portal/ticket_detail.html", context, status=status)


@login_required
def ticket_detail(request: AuthenticatedHttpRequest, reference: str) -> HttpResponse:
    ticket = _ticket_or_404(request, reference)
    if is_staff(request.user):
        # Agents work tickets in the back office (estimate field, internal notes).
        return redirect("admin:tickets_ticket_change", ticket.pk)
    return _ticket_page(request, ticket)


@login_required
@require_POST
def ticket_reply(request: AuthenticatedHttpRequest, reference: str) -> HttpResponse:
    ticket = _ticket_or_404(request, reference)
    if not _can_write(request.user, ticket):
        raise PermissionDenied(CANNOT_FILE)
    form = ReplyForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            comment = services.comment_post(
                ticket=ticket,
                author=request.user,
                body=form.cleaned_data["body"],
                files=form.cleaned_data["attachments"],
            )
        except NotAllowed as exc:
            raise PermissionDenied(exc.message) from exc
        except DomainError as exc:
            domain_error_to_form(form, exc, {"file": "attachments"})
        else:
            messages.success(request, "Your reply is posted.")
            return redirect(f"{reverse('ticket-detail', args=[reference])}#comment-{comment.pk}")
    return _ticket_page(request, ticket, reply_form=form, status=400)


@login_required
@require_POST
def ticket_status(request: AuthenticatedHttpRequest, reference: str) -> HttpResponse:
    """Mark resolved, or reopen (as the client: back to in progress)."""
    ticket = _ticket_or_404(request, reference)
    if not _can_write(request.user, ticket):
        raise PermissionDenied(CANNOT_FILE)
    form = StatusForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose Mark resolved or Reopen.")
        return redirect("ticket-detail", reference=reference)
    target = form.cleaned_data["status"]
    try:
        services.ticket_status_change(ticket=ticket, actor=request.user, status=target)
    except NotAllowed as exc:
        raise PermissionDenied(exc.message) from exc
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        if target == Status.RESOLVED:
            messages.success(request, f"{reference} is marked resolved.")
        else:
            messages.success(request, f"{reference} is reopened.")
    return redirect("ticket-detail", reference=reference)


@login_required
def attachment_download(request: AuthenticatedHttpRequest, reference: str, pk: int) -> FileResponse:
    """Files leave only through portal.downloads (shared with the API)."""
    return attachment_response(user=request.user, reference=reference, pk=pk)


# SITE MEMBERS


def _managed_site(request: HttpRequest, slug: str):
    site = sites_visible_to(request.user).filter(slug=slug).first()
    if site is None:
        raise Http404("No such site.")
    if not is_staff(request.user) and membership_role(user=request.user, site=site) != Role.PM:
        raise PermissionDenied("Only the site's project managers manage its members.")
    return site


def _members_page(request, site, invite_form=None, status=200) -> HttpResponse:
    members = list(
        SiteMembership.objects.filter(site=site)
        .select_related("user")
        .order_by("user__last_name", "user__first_name", "user__email")
    )
    return render(
        request,
        "portal/members.html",
        {
            "site": site,
            "members": members,
            "invite_form": invite_form or InviteForm(),
            "roles": Role.choices,
        },
        status=status,
    )


@login_required
def site_members(request: AuthenticatedHttpRequest, slug: str) -> HttpResponse:
    return _members_page(request, _managed_site(request, slug))


def _invitation_send(
    request: AuthenticatedHttpRequest, membership: SiteMembership, new_account: bool
) -> None:
    """The invitation email: a link to choose a password (new accounts), else to sign in.
    Never a password, never ticket content."""
    user = membership.user
    base = settings.PORTAL_BASE_URL
    if new_account or not user.has_usable_password():
        uid = urlsafe_base64_encode(force_bytes(user.pk))
        token = default_token_generator.make_token(user)
        link = base + reverse("invitation-accept", args=[uid, token])
    else:
        link = base + reverse("login")
    context = {
        "site": membership.site,
        "role": membership.get_role_display(),
        "inviter": request.user.get_full_name() or request.user.email,
        "link": link,
        "new_account": new_account or not user.has_usable_password(),
        "support_phone": settings.SUPPORT_PHONE,
        "expires_days": max(1, settings.PASSWORD_RESET_TIMEOUT // 86400),
    }
    subject = render_to_string("emails/invitation_subject.txt", context).strip()
    message = EmailMultiAlternatives(
        subject,
        render_to_string("emails/invitation.txt", context),
        to=[user.email],
    )
    message.attach_alternative(render_to_string("emails/invitation.html", context), "text/html")
    message.send()


@login_required
@require_POST
def member_invite(request: AuthenticatedHttpRequest, slug: str) -> HttpResponse:
    site = _managed_site(request, slug)
    form = InviteForm(request.POST)
    if form.is_valid():
        try:
            membership, new_account = services.membership_invite(
                site=site,
                email=form.cleaned_data["email"],
                role=form.cleaned_data["role"],
                actor=request.user,
                name=form.cleaned_data["name"],
            )
        except NotAllowed as exc:
            raise PermissionDenied(exc.message) from exc
        except DomainError as exc:
            domain_error_to_form(form, exc)
        else:
            try:
                _invitation_send(request, membership, new_account)
            except (OSError, smtplib.SMTPException):
                logger.exception("Invitation email to member %s failed", membership.pk)
                messages.warning(
                    request,
                    f"{membership.user.email} is added, but the invitation email could not be "
                    "sent. They can use “Forgot your password?” on the sign-in page.",
                )
            else:
                messages.success(
                    request,
                    f"{membership.user.email} is invited as {membership.get_role_display()}.",
                )
            return redirect("site-members", slug=slug)
    return _members_page(request, site, invite_form=form, status=400)


def _member_or_404(site, user_id: int) -> SiteMembership:
    membership = (
        SiteMembership.objects.select_related("user").filter(site=site, user_id=user_id).first()
    )
    if membership is None:
        raise Http404("No such member.")
    return membership


@login_required
@require_POST
def member_role(request: AuthenticatedHttpRequest, slug: str, user_id: int) -> HttpResponse:
    site = _managed_site(request, slug)
    membership = _member_or_404(site, user_id)
    form = RoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose a role: project manager, IT or viewer.")
        return redirect("site-members", slug=slug)
    try:
        services.membership_role_change(
            site=site, user=membership.user, role=form.cleaned_data["role"], actor=request.user
        )
    except NotAllowed as exc:
        raise PermissionDenied(exc.message) from exc
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            f"{membership.user.email or membership.user} is now "
            f"{Role(form.cleaned_data['role']).label}.",
        )
    return redirect("site-members", slug=slug)


@login_required
@require_POST
def member_remove(request: AuthenticatedHttpRequest, slug: str, user_id: int) -> HttpResponse:
    site = _managed_site(request, slug)
    membership = _member_or_404(site, user_id)
    try:
        services.membership_remove(site=site, user=membership.user, actor=request.user)
    except NotAllowed as exc:
        raise PermissionDenied(exc.message) from exc
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"{membership.user.email or membership.user} is removed.")
        if membership.user_id == request.user.pk:
            return redirect("dashboard")
    return redirect("site-members", slug=slug)

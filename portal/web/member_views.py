"""A site's members page: project managers invite, change roles and remove members. The
rules (who manages a site, the last project manager stays) live in tickets' services."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from tickets import services
from tickets.actors import AuthenticatedHttpRequest
from tickets.errors import DomainError, NotAllowed
from tickets.models import ClientSite, Role, SiteMembership
from tickets.selectors import site_manage_refusal, sites_visible_to

from .forms import InviteForm, RoleForm, domain_error_to_form


def _managed_site(request: HttpRequest, slug: str) -> ClientSite:
    site = sites_visible_to(request.user).filter(slug=slug).first()
    if site is None:
        raise Http404("No such site.")
    refusal = site_manage_refusal(user=request.user, site=site)
    if refusal is not None:
        raise PermissionDenied(refusal.message)
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


@login_required
@require_POST
def member_invite(request: AuthenticatedHttpRequest, slug: str) -> HttpResponse:
    site = _managed_site(request, slug)
    form = InviteForm(request.POST)
    if form.is_valid():
        try:
            membership, _ = services.membership_invite(
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
            messages.success(
                request,
                f"{membership.user.email} is invited as {membership.get_role_display()}; "
                "the invitation email is on its way.",
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

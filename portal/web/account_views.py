"""Signing in, password resets and accepting an invitation. Their emails go through the
outbox (tickets.account_mail), like every other email."""

from typing import Any

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import PasswordResetForm
from django.urls import reverse_lazy

from tickets.account_mail import password_reset_enqueue

from .forms import EmailLoginForm


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

    def save(self, *args: Any, **kwargs: Any) -> None:
        # Django would send the email inside the request; write it to the outbox instead,
        # which mints the link when it sends (so no link is stored).
        for user in self.get_users(self.cleaned_data["email"]):
            password_reset_enqueue(user=user)


class PasswordResetView(auth_views.PasswordResetView):
    form_class = MemberPasswordResetForm


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

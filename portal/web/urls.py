from django.contrib.auth import views as auth_views
from django.urls import path, reverse_lazy

from . import (
    account_views,
    escalation_views,
    jira_views,
    member_views,
    ratings,
    ticket_views,
    two_factor_views,
    views,
)

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("tickets/new/", views.ticket_new, name="ticket-new"),
    path("tickets/<str:reference>/", ticket_views.ticket_detail, name="ticket-detail"),
    path(
        "tickets/<str:reference>/escalate/",
        escalation_views.ticket_escalate,
        name="ticket-escalate",
    ),
    path("jira/<str:key>/", jira_views.jira_redirect, name="jira-redirect"),
    path("support/", escalation_views.support, name="support"),
    path("escalation/ack/<str:token>/", escalation_views.escalation_ack, name="escalation-ack"),
    path("ratings/<str:token>/", ratings.rating, name="rating"),
    path("ratings/<str:token>/comment/", ratings.rating_comment_post, name="rating-comment"),
    path("tickets/<str:reference>/reply/", ticket_views.ticket_reply, name="ticket-reply"),
    path("tickets/<str:reference>/status/", ticket_views.ticket_status, name="ticket-status"),
    path(
        "tickets/<str:reference>/attachments/<int:pk>/",
        ticket_views.attachment_download,
        name="attachment-download",
    ),
    path("sites/<slug:slug>/members/", member_views.site_members, name="site-members"),
    path("sites/<slug:slug>/members/invite/", member_views.member_invite, name="member-invite"),
    path(
        "sites/<slug:slug>/members/<int:user_id>/role/",
        member_views.member_role,
        name="member-role",
    ),
    path(
        "sites/<slug:slug>/members/<int:user_id>/remove/",
        member_views.member_remove,
        name="member-remove",
    ),
    # Accounts
    path("accounts/login/", account_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/two-factor/", two_factor_views.two_factor, name="two-factor"),
    path(
        "accounts/password/change/",
        auth_views.PasswordChangeView.as_view(),
        name="password_change",
    ),
    path(
        "accounts/password/change/done/",
        auth_views.PasswordChangeDoneView.as_view(),
        name="password_change_done",
    ),
    path(
        "accounts/password/reset/", account_views.PasswordResetView.as_view(), name="password_reset"
    ),
    path(
        "accounts/password/reset/sent/",
        auth_views.PasswordResetDoneView.as_view(),
        name="password_reset_done",
    ),
    path(
        "accounts/reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(
            success_url=reverse_lazy("password_reset_complete")
        ),
        name="password_reset_confirm",
    ),
    path(
        "accounts/reset/done/",
        auth_views.PasswordResetCompleteView.as_view(),
        name="password_reset_complete",
    ),
    path(
        "accounts/invitation/<uidb64>/<token>/",
        account_views.InvitationAcceptView.as_view(),
        name="invitation-accept",
    ),
]

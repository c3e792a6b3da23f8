from django.contrib import admin
from django.urls import include, path

from .health import healthz
from .web.forms import AdminLoginForm
from .web.reports import site_evidence_pack, site_sla_report, site_ticket_views

handler500 = "portal.errors.server_error"

admin.site.site_header = "Rx.Health support"
admin.site.site_title = "Rx.Health support"
admin.site.index_title = "Support back office"
admin.site.login_form = AdminLoginForm

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("staff/", include("portal.backoffice.urls")),
    path("sites/<slug:slug>/sla-report/", site_sla_report, name="site-sla-report"),
    path(
        "sites/<slug:slug>/sla-report/evidence-pack/",
        site_evidence_pack,
        name="site-evidence-pack",
    ),
    path("sites/<slug:slug>/who-looked/", site_ticket_views, name="site-ticket-views"),
    path("api/v1/", include("portal.api.urls")),
    path("", include("portal.web.urls")),
]

from django.contrib import admin
from django.urls import include, path

from .health import healthz
from .web.forms import AdminLoginForm
from .web.reports import site_sla_report

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
    path("api/v1/", include("portal.api.urls")),
    path("", include("portal.web.urls")),
]

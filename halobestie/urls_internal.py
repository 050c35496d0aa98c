"""Internal entrypoint: the control center and Django admin. Never exposed publicly."""

from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from control_center.metrics import metrics_view

from . import health

# Staff sign in through the control center's login (rate limit, lockout, TOTP); the
# admin's own login form would bypass all three.
admin.site.login = RedirectView.as_view(pattern_name="control_center:login", query_string=True)

urlpatterns = [
    path("admin/", admin.site.urls),
    path("health", health.HealthView.as_view()),
    path("metrics", metrics_view),  # Prometheus; internal only, like everything here
    path("", include("control_center.urls")),
]

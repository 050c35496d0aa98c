"""Internal entrypoint: the control center and Django admin. Never exposed publicly."""

from django.contrib import admin
from django.urls import include, path

from . import health

urlpatterns = [
    path("admin/", admin.site.urls),
    path("health", health.HealthView.as_view()),
    path("", include("control_center.urls")),
]

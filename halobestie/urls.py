"""Public entrypoint: the app API and the web client that uses it. No admin, no control center: they are not routed
here at all (404), not merely refused."""

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerSplitView

from accounts.api import urls as accounts_urls
from billing.api import urls as billing_urls
from chat.api import urls as chat_urls
from notifications.api import urls as notifications_urls
from pairing.api import urls as pairing_urls

from . import health

client_api = [
    *accounts_urls.client_urlpatterns,
    *pairing_urls.client_urlpatterns,
    *chat_urls.client_urlpatterns,
    *billing_urls.client_urlpatterns,
]
mitra_api = [
    *accounts_urls.mitra_urlpatterns,
    *pairing_urls.mitra_urlpatterns,
    *chat_urls.mitra_urlpatterns,
    *billing_urls.mitra_urlpatterns,
]
shared_api = [
    path("health", health.HealthView.as_view(), name="health"),
    *notifications_urls.shared_urlpatterns,
    *billing_urls.shared_urlpatterns,
]

urlpatterns = [
    path("api/client/", include(client_api)),
    path("api/mitra/", include(mitra_api)),
    path("api/shared/", include(shared_api)),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="api-docs"),
    path("api/redoc/", SpectacularRedocView.as_view(url_name="schema"), name="api-redoc"),
    *billing_urls.public_page_urlpatterns,
    path("", include("webchat.urls")),
]

handler400 = "halobestie.errors.json_400"
handler404 = "halobestie.errors.json_404"
handler500 = "halobestie.errors.json_500"

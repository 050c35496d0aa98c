from django.urls import path

from .sandbox import SandboxPayView
from .views import (
    ClientExtensionsView,
    MitraExtensionAcceptView,
    MitraExtensionRejectView,
    PricingView,
    XenditInvoiceWebhookView,
)

client_urlpatterns = [
    path("pricing", PricingView.as_view()),
    path("sessions/<str:session_id>/extensions", ClientExtensionsView.as_view()),
]
mitra_urlpatterns = [
    path("sessions/<str:session_id>/extensions/<str:extension_id>/accept", MitraExtensionAcceptView.as_view()),
    path("sessions/<str:session_id>/extensions/<str:extension_id>/reject", MitraExtensionRejectView.as_view()),
]
shared_urlpatterns = [
    path("webhooks/xendit/invoice", XenditInvoiceWebhookView.as_view()),
]
# Served at the root of the public entrypoint (not under /api/): a page for a browser.
public_page_urlpatterns = [
    path("sandbox/pay/<str:external_id>", SandboxPayView.as_view(), name="billing-sandbox-pay"),
]

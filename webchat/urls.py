"""The web client's pages, on the public entrypoint only (never the internal one)."""

from django.urls import path

from . import views

urlpatterns = [
    path("chat/", views.client_page, name="webchat-client"),
    path("mitra/", views.mitra_page, name="webchat-mitra"),
    # Where the quick exit lands: a harmless page of ours that also wipes site data.
    path("bacaan/merawat-tanaman/", views.neutral_page, name="webchat-neutral"),
]

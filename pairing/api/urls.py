from django.urls import path

from . import views

client_urlpatterns = [
    path("pairing-requests", views.ClientPairingRequestsView.as_view()),
    path("pairing-requests/<str:request_id>", views.ClientPairingRequestView.as_view()),
    path("pairing-requests/<str:request_id>/cancel", views.ClientPairingCancelView.as_view()),
]
mitra_urlpatterns = [
    path("presence", views.PresenceView.as_view()),
    path("presence/heartbeat", views.HeartbeatView.as_view()),
    path("pairing-requests", views.MitraOffersView.as_view()),
    path("pairing-requests/<str:request_id>/decline", views.MitraDeclineView.as_view()),
]

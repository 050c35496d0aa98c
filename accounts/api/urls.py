from django.urls import path

from . import views

client_urlpatterns = [
    path("auth/session", views.ClientAuthSessionView.as_view()),
    path("me", views.ClientMeView.as_view()),
    path("me/export", views.ClientExportView.as_view()),
]
mitra_urlpatterns = [
    path("auth/session", views.MitraAuthSessionView.as_view()),
    path("me", views.MitraMeView.as_view()),
]

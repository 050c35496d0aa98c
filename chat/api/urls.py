from django.urls import path

from . import views
from .care_views import BlockMitraView, ReportView
from .views import FeedbackView, MitraOfferAcceptView

client_urlpatterns = [
    path("sessions", views.ClientSessionListView.as_view()),
    path("sessions/<str:session_id>", views.ClientSessionDetailView.as_view()),
    path("sessions/<str:session_id>/end", views.ClientSessionEndView.as_view()),
    path("sessions/<str:session_id>/messages", views.ClientMessagesView.as_view()),
    path("sessions/<str:session_id>/transcript", views.ClientTranscriptView.as_view()),
    path("sessions/<str:session_id>/feedback", FeedbackView.as_view()),
    path("sessions/<str:session_id>/block-mitra", BlockMitraView.as_view()),
    path("sessions/<str:session_id>/report", ReportView.as_view()),
]
mitra_urlpatterns = [
    path("sessions", views.MitraSessionListView.as_view()),
    path("sessions/<str:session_id>", views.MitraSessionDetailView.as_view()),
    path("sessions/<str:session_id>/end", views.MitraSessionEndView.as_view()),
    path("sessions/<str:session_id>/messages", views.MitraMessagesView.as_view()),
    path("sessions/<str:session_id>/transcript", views.MitraTranscriptView.as_view()),
    path("pairing-requests/<str:request_id>/accept", MitraOfferAcceptView.as_view()),
]

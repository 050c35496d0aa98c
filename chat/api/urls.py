from django.urls import path

from .care_views import BlockMitraView, ReportView
from .views import CLIENT, MITRA, FeedbackView, MitraOfferAcceptView


def _session_urls(views):
    return [
        path("sessions", views["SessionListView"].as_view()),
        path("sessions/<str:session_id>", views["SessionDetailView"].as_view()),
        path("sessions/<str:session_id>/end", views["SessionEndView"].as_view()),
        path("sessions/<str:session_id>/messages", views["MessagesView"].as_view()),
        path("sessions/<str:session_id>/transcript", views["TranscriptView"].as_view()),
    ]


client_urlpatterns = [
    *_session_urls(CLIENT),
    path("sessions/<str:session_id>/feedback", FeedbackView.as_view()),
    path("sessions/<str:session_id>/block-mitra", BlockMitraView.as_view()),
    path("sessions/<str:session_id>/report", ReportView.as_view()),
]
mitra_urlpatterns = [
    *_session_urls(MITRA),
    path("pairing-requests/<str:request_id>/accept", MitraOfferAcceptView.as_view()),
]

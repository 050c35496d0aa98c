from django.urls import path

from . import views

shared_urlpatterns = [
    path("devices", views.DeviceRegisterView.as_view()),
    path("devices/<str:fcm_token>", views.DeviceDeleteView.as_view()),
]

from django.urls import path

from . import views

app_name = "control_center"
urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("login/", views.login, name="login"),
]

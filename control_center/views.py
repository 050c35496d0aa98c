from django.http import HttpResponse


def dashboard(request):
    return HttpResponse("control center")


def login(request):
    return HttpResponse("login")

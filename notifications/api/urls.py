shared_urlpatterns: list = []

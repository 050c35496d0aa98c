client_urlpatterns: list = []
mitra_urlpatterns: list = []
shared_urlpatterns: list = []
public_page_urlpatterns: list = []

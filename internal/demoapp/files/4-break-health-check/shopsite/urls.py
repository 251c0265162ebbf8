from django.urls import path

from shop import views

urlpatterns = [
    path("", views.index, name="index"),
    path("health/", views.health, name="health"),
]

# Django logs an unhandled exception (with its traceback) before calling
# this view for the response.
handler500 = "shop.views.server_error"

from django.urls import path  # noqa: F401

app_name = "collections_app"
urlpatterns: list = []

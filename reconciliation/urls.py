from django.urls import path

from reconciliation import views

app_name = "reconciliation"
urlpatterns = [
    path("", views.falls, name="falls"),
    path("<int:pk>/", views.classify, name="classify"),
    path("rises/<int:entry_pk>/acknowledge/", views.rise_acknowledge_view, name="rise_acknowledge"),
]

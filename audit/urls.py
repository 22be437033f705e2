from django.urls import path

from audit import views

app_name = "audit"
urlpatterns = [
    path("", views.trail, name="trail"),
    path("history/<str:kind>/<int:pk>/", views.history, name="history"),
]

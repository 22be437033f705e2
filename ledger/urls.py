from django.urls import path

from ledger import views

app_name = "ledger"
urlpatterns = [
    path("entries/<int:pk>/decide/", views.entry_decide, name="entry_decide"),
]

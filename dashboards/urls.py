from django.urls import path

from dashboards import views

app_name = "dashboards"

urlpatterns = [
    path("export/<slug:name>/", views.export_table, name="export"),
]

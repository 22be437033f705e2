from django.urls import path

from dashboards import target_views, views

app_name = "dashboards"

urlpatterns = [
    path("export/<slug:name>/", views.export_table, name="export"),
    path("targets/", target_views.targets, name="targets"),
]

from django.urls import path

from evidence import views

app_name = "evidence"
urlpatterns = [
    path("<int:pk>/", views.download, name="download"),
    path("attach/<str:target>/<int:target_id>/", views.upload, name="upload"),
    path("documents/case/<int:case_pk>/", views.document_generate, name="document_generate"),
    path("templates/", views.template_list, name="templates"),
    path("templates/<str:kind>/", views.template_download, name="template_download"),
]

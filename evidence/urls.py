from django.urls import path

from evidence import views

app_name = "evidence"
urlpatterns = [
    path("<int:pk>/", views.download, name="download"),
    path("attach/<str:target>/<int:target_id>/", views.upload, name="upload"),
]

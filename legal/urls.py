from django.urls import path

from legal import views

app_name = "legal"
urlpatterns = [
    path("proceedings/<int:pk>/", views.proceeding_detail, name="proceeding_detail"),
    path("proceedings/<int:pk>/<str:action>/", views.proceeding_action, name="proceeding_action"),
    path("orders/<int:pk>/<str:action>/", views.order_action, name="order_action"),
    path("borrowers/<int:pk>/assets/", views.borrower_assets, name="borrower_assets"),
]

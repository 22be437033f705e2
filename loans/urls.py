from django.urls import path

from loans import views

app_name = "loans"
urlpatterns = [
    path("", views.loan_list, name="loan_list"),
    path("<int:pk>/", views.loan_detail, name="loan_detail"),
    path("<int:pk>/classify/", views.loan_classify_now, name="loan_classify_now"),
    path("<int:pk>/classify/manual/", views.loan_classify_manual, name="loan_classify_manual"),
]

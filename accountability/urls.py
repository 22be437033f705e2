from django.urls import path

from accountability import views

app_name = "accountability"
urlpatterns = [
    path("mine/", views.mine, name="mine"),
    path("board/", views.board, name="board"),
    path("records/new/", views.record_new, name="record_new"),
    path("records/<int:pk>/", views.record_detail, name="record_detail"),
    path("records/<int:pk>/decide/", views.record_decide_view, name="record_decide"),
    path("cases/<int:case_pk>/responsibility/", views.case_responsibility, name="case_responsibility"),
    path("cases/<int:case_pk>/cause/", views.case_cause, name="case_cause"),
    path("prevention/", views.prevention, name="prevention"),
    path("flags/<int:pk>/review/", views.flag_review, name="flag_review"),
]

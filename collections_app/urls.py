from django.urls import path

from collections_app import views

app_name = "collections_app"
urlpatterns = [
    path("", views.case_list, name="case_list"),
    path("approvals/", views.request_list, name="request_list"),
    path("state-machine.svg", views.state_machine_svg, name="state_machine_svg"),
    path("open/<int:loan_id>/", views.case_open_view, name="case_open"),
    path("<int:pk>/", views.case_detail, name="case_detail"),
    path("<int:pk>/move/", views.case_move_view, name="case_move"),
    path("<int:pk>/request/", views.case_request_view, name="case_request"),
    path("requests/<int:request_id>/decide/", views.request_decide, name="request_decide"),
    path("<int:pk>/record/<str:kind>/", views.record_create, name="record_create"),
    path("<int:pk>/record/<str:kind>/form/", views.record_form, name="record_form"),
    path("<int:pk>/costs/<int:cost_pk>/correct/", views.cost_correct_view, name="cost_correct"),
    path("<int:pk>/costs/<int:cost_pk>/correct/form/", views.cost_correct_form, name="cost_correct_form"),
]

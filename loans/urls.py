from django.urls import path

from loans import views

app_name = "loans"
urlpatterns = [
    path("", views.loan_list, name="loan_list"),
    path("<int:pk>/", views.loan_detail, name="loan_detail"),
    path("<int:pk>/classify/", views.loan_classify_now, name="loan_classify_now"),
    path("<int:pk>/classify/manual/", views.loan_classify_manual, name="loan_classify_manual"),
]

# Loan-book import and exports (issue 5).
from loans import views_import  # noqa: E402

urlpatterns += [
    path("import/", views_import.import_start, name="import_start"),
    path("import/template.<str:fmt>", views_import.import_template, name="import_template"),
    path("import/<int:pk>/", views_import.import_detail, name="import_detail"),
    path("import/<int:pk>/progress/", views_import.import_progress, name="import_progress"),
    path("import/<int:pk>/run/", views_import.import_run_checked, name="import_run_checked"),
    path("export/", views_import.export_index, name="export_index"),
    path("export/<str:name>.<str:fmt>", views_import.export_download, name="export"),
    path("export/jobs/<int:pk>/", views_import.export_job, name="export_job"),
    path("export/jobs/<int:pk>/progress/", views_import.export_job_progress, name="export_job_progress"),
    path("export/jobs/<int:pk>/file/", views_import.export_job_file, name="export_job_file"),
]

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from dashboards import views as dashboard_views
from loans import views as loan_views
from npl_recovery.views import language_set

urlpatterns = [
    path("", loan_views.home, name="home"),
    path("dashboard/", dashboard_views.dashboard, name="dashboard"),
    path("dashboard/", include("dashboards.urls")),
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("language/", language_set, name="language_set"),
    path("loans/", include("loans.urls")),
    path("cases/", include("collections_app.urls")),
    path("ledger/", include("ledger.urls")),
    path("accountability/", include("accountability.urls")),
    path("reconciliation/", include("reconciliation.urls")),
    path("legal/", include("legal.urls")),
    path("notifications/", include("notifications.urls")),
    path("audit/", include("audit.urls")),
    path("account/", include("accounts.urls")),
    path("evidence/", include("evidence.urls")),
    path("admin/", admin.site.urls),
]

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from loans.access import get_for_user_or_404
from notifications.models import Notification
from notifications.selectors import notifications_for_user, unread_count
from notifications.services import notification_mark_read, notifications_mark_all_read


@login_required
@require_GET
def notification_list(request: HttpRequest) -> HttpResponse:
    unread_only = request.GET.get("show") == "unread"
    page = Paginator(notifications_for_user(user=request.user, unread_only=unread_only), 25).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "notifications/notification_list.html",
        {"page_obj": page, "unread_only": unread_only, "unread": unread_count(user=request.user)},
    )


@login_required
@require_GET
def bell(request: HttpRequest) -> HttpResponse:
    """The top bar's bell with the unread count; loaded by htmx so pages themselves run no query for it."""
    return render(request, "notifications/bell.html", {"bell_count": unread_count(user=request.user)})


@login_required
@require_http_methods(["GET", "POST"])
def notification_open(request: HttpRequest, pk: int) -> HttpResponse:
    """Follow a notification's link to act. The list's Open button POSTs and marks it read; a GET
    (a bookmark, a link prefetched by a mail client) only goes there and changes nothing."""
    notification = get_for_user_or_404(Notification, request.user, pk=pk)
    if request.method == "POST":
        notification_mark_read(notification=notification, actor=request.user)
    target = notification.url
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return redirect(target)
    return redirect("notifications:list")


@login_required
@require_POST
def notification_read(request: HttpRequest, pk: int) -> HttpResponse:
    notification = get_for_user_or_404(Notification, request.user, pk=pk)
    notification_mark_read(notification=notification, actor=request.user)
    if request.htmx:
        notification.refresh_from_db()
        return render(request, "notifications/_notification.html", {"n": notification})
    return redirect("notifications:list")


@login_required
@require_POST
def notification_read_all(request: HttpRequest) -> HttpResponse:
    n = notifications_mark_all_read(actor=request.user)
    messages.success(
        request, ngettext("%(n)d notification marked read.", "%(n)d notifications marked read.", n) % {"n": n}
    )
    return redirect("notifications:list")

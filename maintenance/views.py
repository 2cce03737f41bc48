"""Maintenance pages: list and month view, notice page with timeline, staff forms,
subscriptions and the calendar feed.

Reads go through maintenance.queries (`get_notice_for`: MaintenanceNotice.objects.visible_to),
writes through maintenance.services. A notice outside the user's scope answers 404; a visible
notice a customer may not change answers 403 (pim.permissions.require_staff).
"""

from datetime import date

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.dateformat import format as date_format
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from pim.permissions import require_staff
from pim.refusals import input_refused

from . import feed as ical
from . import queries, services
from .forms import NoticeForm, StatusUpdateForm, SubscriptionForm, apply_errors
from .models import FeedToken
from .notifications import scope_for

PAGE_SIZE = 25


def _with_scope(notices, user):
    """Attach what `user` may read of each notice's organisations and services."""
    for notice in notices:
        notice.visible_organizations, notice.visible_services = scope_for(notice, user)
    return notices


@login_required
@require_GET
def notice_list(request):
    show = "past" if request.GET.get("show") == "past" else "upcoming"
    qs = queries.notice_list(request.user)
    qs = queries.past(qs) if show == "past" else queries.upcoming(qs)
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    _with_scope(page.object_list, request.user)
    return render(
        request,
        "maintenance/notice_list.html",
        {"page": page, "show": show, "now": timezone.now()},
    )


@login_required
@require_GET
def notice_month(request):
    year, month = queries.parse_month(request.GET.get("month"))
    weeks = queries.month_grid(queries.notice_list(request.user), year, month)
    first = date(year, month, 1)
    previous = date(year - 1, 12, 1) if month == 1 else date(year, month - 1, 1)
    following = date(year + 1, 1, 1) if month == 12 else date(year, month + 1, 1)
    return render(
        request,
        "maintenance/notice_month.html",
        {
            "weeks": weeks,
            "month_label": date_format(first, "F Y"),
            "previous": previous.strftime("%Y-%m"),
            "next": following.strftime("%Y-%m"),
            "this_month": timezone.localdate().strftime("%Y-%m"),
            "today": timezone.localdate(),
            "weekdays": [date_format(d, "D") for d, _in, _n in weeks[0]],
        },
    )


@login_required
@require_GET
def notice_detail(request, pk):
    notice = queries.get_notice_for(request.user, pk, detail=True)
    _with_scope([notice], request.user)
    status_form = None
    if request.user.is_provider_staff and notice.is_open:
        status_form = StatusUpdateForm(notice=notice)
    return render(
        request,
        "maintenance/notice_detail.html",
        {"notice": notice, "status_form": status_form, "updates": notice.updates.all()},
    )


@login_required
def notice_create(request):
    require_staff(request.user, services.STAFF_ONLY)
    form = NoticeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            notice = services.create_notice(request.user, **form.service_kwargs())
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("The maintenance has been announced."))
            return redirect(notice)
    return render(request, "maintenance/notice_form.html", {"form": form, "notice": None})


@login_required
def notice_edit(request, pk):
    notice = queries.get_notice_for(request.user, pk)
    require_staff(request.user, services.STAFF_ONLY)
    if not notice.is_open:
        messages.error(request, _("Completed or cancelled maintenance cannot be changed."))
        return redirect(notice)
    form = NoticeForm(request.POST or None, notice=notice)
    if request.method == "POST" and form.is_valid():
        try:
            services.update_notice(
                notice,
                request.user,
                message=form.cleaned_data.get("message", ""),
                **form.service_kwargs(),
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("The maintenance notice has been changed."))
            return redirect(notice)
    return render(request, "maintenance/notice_form.html", {"form": form, "notice": notice})


@login_required
@require_POST
def notice_status(request, pk):
    notice = queries.get_notice_for(request.user, pk, detail=True)
    require_staff(request.user, services.STAFF_ONLY)
    form = StatusUpdateForm(request.POST, notice=notice)
    if form.is_valid():
        try:
            services.post_status_update(
                notice, request.user, form.cleaned_data["status"], form.cleaned_data["message"]
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        except services.IllegalStatusChange as exc:
            form.add_error("status", exc.message)
        else:
            messages.success(request, _("The update has been published."))
            return redirect(notice)
    _with_scope([notice], request.user)
    return render(
        request,
        "maintenance/notice_detail.html",
        {"notice": notice, "status_form": form, "updates": notice.updates.all()},
        status=400,
    )


# --- subscriptions ----------------------------------------------------------------------------


@login_required
def subscriptions(request):
    form = SubscriptionForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            _sub, created = services.subscribe(
                request.user, form.cleaned_data["organization"], form.cleaned_data["service"]
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        except PermissionDenied as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(
                request,
                _("You are subscribed to maintenance notices.")
                if created
                else _("You were already subscribed to these notices."),
            )
            return redirect("maintenance-subscriptions")
    return render(
        request,
        "maintenance/subscriptions.html",
        {"form": form, "subscriptions": queries.own_subscriptions(request.user)},
    )


@login_required
@require_POST
def unsubscribe(request, pk):
    subscription = queries.get_subscription_for(request.user, pk)
    services.unsubscribe(request.user, subscription)
    messages.success(request, _("You are unsubscribed."))
    return redirect("maintenance-subscriptions")


# --- the calendar feed ------------------------------------------------------------------------


def _feed_url(request, secret):
    return request.build_absolute_uri(reverse("maintenance-feed", args=[secret]))


@never_cache
@login_required
def feed_settings(request):
    """Show whether a feed URL exists; make a new one (shown once) or revoke it."""
    new_url = None
    if request.method == "POST":
        action = request.POST.get("action")
        if action == "regenerate":
            new_url = _feed_url(request, services.regenerate_feed_token(request.user))
        elif action == "revoke":
            if services.revoke_feed_token(request.user):
                messages.success(request, _("The calendar feed URL has been revoked."))
            return redirect("maintenance-feed-settings")
        else:
            return input_refused(request, _("Choose to make a new feed URL or to revoke it."))
    token = FeedToken.objects.filter(user=request.user).first()
    return render(request, "maintenance/feed_settings.html", {"token": token, "new_url": new_url})


@require_GET
def feed(request, token):
    """The user's iCalendar feed; the secret in the URL is the only credential."""
    user = services.user_for_feed_token(token)
    if user is None:
        raise Http404
    notices = ical.feed_notices(queries.notice_list(user))
    response = HttpResponse(ical.build_feed(user, notices), content_type="text/calendar")
    response["Content-Type"] = "text/calendar; charset=utf-8"
    response["Content-Disposition"] = 'inline; filename="pim-maintenance.ics"'
    response["Cache-Control"] = "private, max-age=300"
    response["X-Robots-Tag"] = "noindex"
    return response

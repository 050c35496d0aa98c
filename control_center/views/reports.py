"""Client reports about sessions: the queue, and moving a report to review or resolved."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from chat.models import SessionReport
from chat.services.care import session_report_resolve
from halobestie.errors import ApplicationError

from .. import selectors
from ..forms import ReportFilterForm, ReportUpdateForm
from ..roles import perm
from .base import VIEW, paginate, staff_permission


@staff_permission(VIEW)
def report_list(request: HttpRequest) -> HttpResponse:
    form = ReportFilterForm(request.GET or None)
    page = paginate(request, selectors.report_list(form.status_filter()))
    context = {
        "page": page,
        "form": form,
        "statuses": SessionReport.Status.choices,
    }
    return render(request, "control_center/reports/list.html", context)


@require_POST
@staff_permission(perm("triage_report"))
def report_update(request: HttpRequest, report_id) -> HttpResponse:
    report = get_object_or_404(SessionReport, pk=report_id)
    form = ReportUpdateForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose a status.")
    else:
        try:
            session_report_resolve(
                report_id=report.id,
                actor=request.user,
                status=form.cleaned_data["status"],
                resolution_note=form.cleaned_data["resolution_note"],
            )
        except ApplicationError as exc:
            messages.error(request, exc.detail)
        else:
            messages.success(request, f"Report marked {form.cleaned_data['status'].replace('_', ' ')}.")
    return redirect(
        request.POST.get("back")
        if request.POST.get("back", "").startswith("/reports/")
        else "control_center:report_list"
    )

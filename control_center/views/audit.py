"""The audit log: every staff change and transcript view, newest first, filterable."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from .. import selectors
from ..forms import AuditFilterForm
from ..roles import perm
from .base import paginate, staff_permission


@staff_permission(perm("view_audit_log"))
def audit_list(request: HttpRequest) -> HttpResponse:
    form = AuditFilterForm(request.GET or None, actions=selectors.audit_actions())
    page = paginate(request, selectors.audit_list(**form.filters()), per_page=50)
    return render(request, "control_center/audit/list.html", {"page": page, "form": form})

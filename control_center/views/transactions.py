"""Customer transactions: filtered list, and what needs a human (refunds, incidents)."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from billing.models import PaymentIncident, Transaction
from halobestie.errors import ApplicationError

from .. import selectors, services
from ..forms import NoteForm, TransactionFilterForm
from ..roles import perm
from .base import VIEW, client_ip, paginate, staff_permission


@staff_permission(VIEW)
def transaction_list(request: HttpRequest) -> HttpResponse:
    form = TransactionFilterForm(request.GET or None)
    page = paginate(request, selectors.transaction_list(**form.filters()))
    return render(request, "control_center/transactions/list.html", {"page": page, "form": form})


@staff_permission(VIEW)
def needs_attention(request: HttpRequest) -> HttpResponse:
    context = {
        "refunds": selectors.refunds_needed(),
        "incidents": selectors.open_payment_incidents(),
        "note_form": NoteForm(),
    }
    return render(request, "control_center/transactions/attention.html", context)


def _run_with_note(request: HttpRequest, action, success: str) -> HttpResponse:
    form = NoteForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Write a short note first.")
    else:
        try:
            action(note=form.cleaned_data["note"])
        except ApplicationError as exc:
            messages.error(request, exc.detail)
        else:
            messages.success(request, success)
    return redirect("control_center:needs_attention")


@require_POST
@staff_permission(perm("resolve_payment"))
def transaction_mark_refunded(request: HttpRequest, transaction_id) -> HttpResponse:
    tx = get_object_or_404(Transaction, pk=transaction_id)
    return _run_with_note(
        request,
        lambda note: services.transaction_mark_refunded(
            actor=request.user, transaction_id=tx.id, note=note, ip=client_ip(request)
        ),
        "Transaction marked refunded.",
    )


@require_POST
@staff_permission(perm("resolve_payment"))
def incident_resolve(request: HttpRequest, incident_id: int) -> HttpResponse:
    incident = get_object_or_404(PaymentIncident, pk=incident_id)
    return _run_with_note(
        request,
        lambda note: services.payment_incident_resolve(
            actor=request.user, incident_id=incident.id, note=note, ip=client_ip(request)
        ),
        "Incident resolved.",
    )

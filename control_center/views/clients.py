"""Clients: list and search, detail (sessions, transactions, devices), block/unblock."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from accounts.models import Client
from accounts.services import client_set_blocked

from .. import selectors
from ..forms import BlockForm
from ..roles import perm
from .base import VIEW, paginate, staff_permission


def _get_client(client_id) -> Client:
    return get_object_or_404(Client, pk=client_id, deleted_at__isnull=True)


@staff_permission(VIEW)
def client_list(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "").strip()[:80]
    page = paginate(request, selectors.client_list(query))
    return render(request, "control_center/clients/list.html", {"page": page, "q": query})


@staff_permission(VIEW)
def client_detail(request: HttpRequest, client_id) -> HttpResponse:
    client = _get_client(client_id)
    context = {
        "client": client,
        "sessions": paginate(request, selectors.client_sessions(client), param="sessions", per_page=20),
        "transactions": paginate(request, selectors.client_transactions(client), param="transactions", per_page=20),
        "devices": selectors.devices_for(client),
        "block_form": BlockForm(),
    }
    return render(request, "control_center/clients/detail.html", context)


@require_POST
@staff_permission(perm("block_client"))
def client_block(request: HttpRequest, client_id) -> HttpResponse:
    client = _get_client(client_id)
    form = BlockForm(request.POST)
    reason = form.cleaned_data["reason"] if form.is_valid() else ""
    client_set_blocked(client=client, blocked=True, actor=request.user, reason=reason)
    messages.success(request, "Client blocked: they can read their history but cannot start sessions.")
    return redirect("control_center:client_detail", client_id=client.id)


@require_POST
@staff_permission(perm("block_client"))
def client_unblock(request: HttpRequest, client_id) -> HttpResponse:
    client = _get_client(client_id)
    client_set_blocked(client=client, blocked=False, actor=request.user)
    messages.success(request, "Client unblocked.")
    return redirect("control_center:client_detail", client_id=client.id)

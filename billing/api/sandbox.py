"""The sandbox gateway's invoice page (public entrypoint, only while XENDIT_SECRET_KEY is
unset): "Bayar" and "Kedaluwarsa" post back here, and this page hands a Xendit-shaped
callback to the very service the real webhook calls."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.utils import timezone
from django.views import View

from ..gateways import sandbox_active
from ..models import Transaction
from ..services.payments import invoice_callback_handle

ACTIONS = {"pay": "PAID", "expire": "EXPIRED"}


def sandbox_callback_payload(tx: Transaction, status: str) -> dict:
    """What Xendit would POST to our webhook for this invoice."""
    now = timezone.now().isoformat().replace("+00:00", "Z")
    payload = {
        "id": tx.xendit_invoice_id or f"sandbox-{tx.external_id}",
        "external_id": tx.external_id,
        "user_id": "sandbox",
        "is_high": False,
        "status": status,
        "merchant_name": "Halo Bestie (sandbox)",
        "amount": tx.amount,
        "currency": "IDR",
        "created": tx.created_at.isoformat().replace("+00:00", "Z"),
        "updated": now,
    }
    if status == "PAID":
        payload.update(
            {"paid_amount": tx.amount, "paid_at": now, "payment_method": "SANDBOX", "payment_channel": "SANDBOX"}
        )
    return payload


class SandboxPayView(View):
    template_name = "billing/sandbox_pay.html"

    def _transaction(self, external_id: str) -> Transaction:
        if not sandbox_active():
            raise Http404("The sandbox gateway is not active.")
        tx = Transaction.objects.select_related("session").filter(external_id=external_id, gateway="sandbox").first()
        if tx is None:
            raise Http404("Unknown invoice.")
        return tx

    def _render(self, request: HttpRequest, tx: Transaction, result: str, status: int = 200) -> HttpResponse:
        context = {
            "tx": tx,
            "result": result,
            "amount_text": f"Rp{tx.amount:,}".replace(",", "."),
            "kind_text": "Perpanjangan sesi" if tx.kind == Transaction.Kind.EXTENSION else "Sesi curhat",
        }
        return render(request, self.template_name, context, status=status)

    def get(self, request: HttpRequest, external_id: str) -> HttpResponse:
        return self._render(request, self._transaction(external_id), request.GET.get("result", ""))

    def post(self, request: HttpRequest, external_id: str) -> HttpResponse:
        tx = self._transaction(external_id)
        status = ACTIONS.get(request.POST.get("action", ""))
        if status is None or tx.status != Transaction.Status.PENDING:
            return self._render(request, tx, "not_pending", status=409)
        result = invoice_callback_handle(payload=sandbox_callback_payload(tx, status))
        return HttpResponseRedirect(f"{request.path}?result={result}")

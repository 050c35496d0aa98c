"""Django admin (internal entrypoint only): read-mostly views of billing rows. Staff change
money state through the control center, whose services audit every change."""

from django.contrib import admin

from .models import Extension, PaymentIncident, Tier, Transaction


@admin.register(Tier)
class TierAdmin(admin.ModelAdmin):
    list_display = ("name", "kind", "minutes", "price", "is_active", "sort_order")
    list_filter = ("kind", "is_active")


@admin.register(Transaction)
class TransactionAdmin(admin.ModelAdmin):
    list_display = ("external_id", "kind", "amount", "status", "gateway", "created_at", "paid_at")
    list_filter = ("status", "kind", "gateway")
    search_fields = ("external_id", "xendit_invoice_id")
    readonly_fields = [f.name for f in Transaction._meta.fields]
    raw_id_fields = ("client", "session", "extension")


@admin.register(Extension)
class ExtensionAdmin(admin.ModelAdmin):
    list_display = ("id", "session", "state", "minutes", "price", "requested_at", "respond_by")
    list_filter = ("state",)
    readonly_fields = [f.name for f in Extension._meta.fields]


@admin.register(PaymentIncident)
class PaymentIncidentAdmin(admin.ModelAdmin):
    list_display = ("kind", "external_id", "transaction", "created_at", "resolved_at")
    list_filter = ("kind",)
    readonly_fields = ("kind", "external_id", "transaction", "payload", "created_at")

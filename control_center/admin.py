from django.contrib import admin

from .models import StaffLoginFailure, StaffTOTP


@admin.register(StaffTOTP)
class StaffTOTPAdmin(admin.ModelAdmin):
    """Read only: the secret is never shown, and a lost authenticator is reset on the
    control center's Staff page (asks for the admin's password, audited), not here."""

    list_display = ("user", "confirmed_at", "created_at")
    fields = ("user", "confirmed_at", "created_at")
    readonly_fields = ("user", "confirmed_at", "created_at")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(StaffLoginFailure)
class StaffLoginFailureAdmin(admin.ModelAdmin):
    """Delete an email's rows to unlock it early."""

    list_display = ("email", "ip_address", "created_at")
    search_fields = ("email",)
    readonly_fields = ("email", "ip_address", "created_at")

    def has_add_permission(self, request):
        return False

from django.contrib import admin

from .models import Device


@admin.register(Device)
class DeviceAdmin(admin.ModelAdmin):
    list_display = ["id", "platform", "client", "mitra", "token_hint", "updated_at"]
    list_filter = ["platform"]
    raw_id_fields = ["client", "mitra"]
    readonly_fields = ["created_at", "updated_at"]

    @admin.display(description="token")
    def token_hint(self, obj: Device) -> str:
        return f"…{obj.fcm_token[-8:]}"

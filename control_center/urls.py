"""The control center's pages (internal entrypoint only: halobestie/urls_internal.py)."""

from django.urls import path

from .views import (
    audit,
    auth,
    clients,
    dashboard,
    devices,
    mitras,
    platform_settings,
    reports,
    sessions,
    staff,
    tiers,
    transactions,
    transcripts,
)

app_name = "control_center"
urlpatterns = [
    path("", dashboard.dashboard, name="dashboard"),
    path("dashboard/live/", dashboard.dashboard_live, name="dashboard_live"),
    # staff sign-in
    path("login/", auth.login_view, name="login"),
    path("login/code/", auth.login_totp_view, name="login_totp"),
    path("logout/", auth.logout_view, name="logout"),
    path("account/two-factor/", auth.totp_setup_view, name="totp_setup"),
    path("account/two-factor/verify/", auth.totp_verify_view, name="totp_verify"),
    # mitras
    path("mitras/", mitras.mitra_list, name="mitra_list"),
    path("mitras/new/", mitras.mitra_create_view, name="mitra_create"),
    path("mitras/<uuid:mitra_id>/", mitras.mitra_detail, name="mitra_detail"),
    path("mitras/<uuid:mitra_id>/edit/", mitras.mitra_edit, name="mitra_edit"),
    path("mitras/<uuid:mitra_id>/active/", mitras.mitra_set_active_view, name="mitra_set_active"),
    path("mitras/<uuid:mitra_id>/force-offline/", mitras.mitra_force_offline, name="mitra_force_offline"),
    # clients
    path("clients/", clients.client_list, name="client_list"),
    path("clients/<uuid:client_id>/", clients.client_detail, name="client_detail"),
    path("clients/<uuid:client_id>/block/", clients.client_block, name="client_block"),
    path("clients/<uuid:client_id>/unblock/", clients.client_unblock, name="client_unblock"),
    # devices
    path("devices/<int:device_id>/test-push/", devices.device_test_push, name="device_test_push"),
    # sessions
    path("sessions/", sessions.session_list, name="session_list"),
    path("sessions/<uuid:session_id>/", sessions.session_detail, name="session_detail"),
    path("sessions/<uuid:session_id>/reroute/", sessions.session_reroute_view, name="session_reroute"),
    path("sessions/<uuid:session_id>/force-close/", sessions.session_force_close_view, name="session_force_close"),
    path("sessions/<uuid:session_id>/transcript/", transcripts.session_transcript, name="session_transcript"),
    path("reports/", reports.report_list, name="report_list"),
    path("reports/<uuid:report_id>/", reports.report_update, name="report_update"),
    # money
    path("transactions/", transactions.transaction_list, name="transaction_list"),
    path("transactions/attention/", transactions.needs_attention, name="needs_attention"),
    path(
        "transactions/<uuid:transaction_id>/refunded/",
        transactions.transaction_mark_refunded,
        name="transaction_mark_refunded",
    ),
    path("incidents/<int:incident_id>/resolve/", transactions.incident_resolve, name="incident_resolve"),
    path("tiers/", tiers.tier_list, name="tier_list"),
    path("tiers/new/", tiers.tier_create, name="tier_create"),
    path("tiers/<uuid:tier_id>/edit/", tiers.tier_edit, name="tier_edit"),
    path("tiers/<uuid:tier_id>/active/", tiers.tier_set_active, name="tier_set_active"),
    # platform
    path("settings/", platform_settings.settings_edit, name="settings"),
    path("audit/", audit.audit_list, name="audit_list"),
    # staff
    path("staff/", staff.staff_list, name="staff_list"),
    path("staff/<int:user_id>/role/", staff.staff_set_role, name="staff_set_role"),
    path("staff/<int:user_id>/two-factor/reset/", staff.staff_totp_reset, name="staff_totp_reset"),
]

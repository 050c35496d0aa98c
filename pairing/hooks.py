"""Presence facts pairing publishes to the apps above it (chat registers for them).

Receivers run after the presence change has committed, in their own transactions: chat
locks sessions, and a session lock is never taken while holding a presence lock (the
reroute takes them the other way round: session, then the new mitra's presence).
"""

from halobestie.hooks import Hook, Provider

# mitra: set offline automatically (no heartbeats) — its live sessions start a grace period.
MITRA_WENT_AWAY = Hook("pairing.mitra_went_away")
# mitra: online again, by the toggle or by a resumed heartbeat.
MITRA_CAME_BACK = Hook("pairing.mitra_came_back")

# What pairing must know of the sessions mitras and clients hold, answered by chat
# (chat/mitra_load.py): filter_available(qs, now=, settings_row=), mitra_wellbeing_block(
# mitra_id, now), mitra_live_sessions(mitra_id), client_has_live_session(client_id),
# previous_mitra(client).
SESSION_LOAD = Provider("pairing.session_load")

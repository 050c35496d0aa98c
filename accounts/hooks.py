"""Account facts accounts publishes to the apps above it (pairing and chat register)."""

from halobestie.hooks import Hook

# mitra: staff deactivated the mitra (inside that transaction, the mitra row locked).
# pairing sets it offline; chat hands its live sessions to other mitras.
MITRA_DEACTIVATED = Hook("accounts.mitra_deactivated")

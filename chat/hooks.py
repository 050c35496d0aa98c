"""Session facts chat publishes to the apps above it (billing registers for them)."""

from halobestie.hooks import Hook

# session: a paid session was just created, waiting for its payment (inside the accept).
SESSION_BORN_UNPAID = Hook("chat.session_born_unpaid")
# session, closure: the session reached `closed` or `cancelled` (inside that transaction,
# under the session's lock). `closure.reason` says why.
SESSION_ENDED = Hook("chat.session_ended")

# session → the api.md `payment` of the session, or None; session → its pending
# `extension`, or None. Billing answers (the session shape carries money chat knows nothing of).
SESSION_PAYMENT = Hook("chat.session_payment")
SESSION_PENDING_EXTENSION = Hook("chat.session_pending_extension")

# Closure reasons that mean the client was not served as paid: billing flags the payment
# `refund_needed` for staff. No other closure ever does.
UNSERVED_REASONS = ("mitra_no_show", "mitra_offline", "mitra_deactivated")

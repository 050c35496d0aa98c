"""Account facts accounts publishes to the apps above it (pairing and chat register)."""

from halobestie.hooks import Hook

# mitra: staff deactivated the mitra (inside that transaction, the mitra row locked).
# pairing sets it offline; chat hands its live sessions to other mitras.
MITRA_DEACTIVATED = Hook("accounts.mitra_deactivated")

# client: the client asks to delete the account (inside that transaction, the client row
# locked). Each app erases what the client wrote in it (free text) and cancels what is
# open; a receiver may refuse with an ApplicationError (a live session), rolling it all back.
CLIENT_DELETING = Hook("accounts.client_deleting")
# client: the client's data export; each app returns {section: data} for what it holds.
CLIENT_EXPORT = Hook("accounts.client_export")
# client: staff blocked the client (inside that transaction): open requests are cancelled.
CLIENT_BLOCKED = Hook("accounts.client_blocked")
# cutoff, now: retention. Each app blanks the client free text older than cutoff; returns a count.
RETENTION_PURGE = Hook("accounts.retention_purge")

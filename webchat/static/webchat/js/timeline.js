// One session's messages, exactly once and in order, however they arrive: `message.new`
// events, send acks, REST pages after a reconnect. The reference rules (README, "Web
// client → reconnects"):
// - dedupe by message `id`; an own message is matched to its pending copy by
//   `client_message_id` (the idempotency key it was sent with);
// - order and gap detection by the per-session `seq` (1, 2, 3 …): `lastSeq` is the highest
//   seq held with nothing missing below it; an event whose seq is above lastSeq + 1 means
//   something was missed, so fetch `after_seq=lastSeq`; after every reconnect, always;
// - statuses only move forward (sent → delivered → read), whatever order they arrive in;
// - a message being sent stays in the outbox until the server has it: socket `message.send`
//   when the socket is up, else REST POST; retried with the same client_message_id, so a
//   retry never doubles it.
// Before the server sends `seq`, the cursor is the last message id (`after=`).

const RANK = { pending: -1, failed: -1, sent: 0, delivered: 1, read: 2 };

function newId() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

export class Timeline {
  constructor({ sessionId, role, api, socket, onChange }) {
    this.sessionId = sessionId;
    this.role = role;
    this.api = api;
    this.socket = socket;
    this.onChange = onChange || (() => {});
    this.byId = new Map();
    this.outbox = new Map(); // client_message_id → local copy, until stored
    this.seqs = new Set();
    this.lastSeq = 0;
    this.seqMode = null; // unknown until the first message says
    this._catching = null;
    this._again = false;
    this.gapsSeen = 0; // how often a gap triggered a catch-up (shown to tests, nothing else)
  }

  // --- reading ----------------------------------------------------------------------

  list() {
    const stored = Array.from(this.byId.values());
    stored.sort((a, b) => (this.seqMode ? a.seq - b.seq : (a._order - b._order)));
    return stored.concat(Array.from(this.outbox.values()));
  }

  lastId() {
    const stored = this.list().filter((m) => !m.local);
    return stored.length ? stored[stored.length - 1].id : null;
  }

  // --- writing ----------------------------------------------------------------------

  // Returns true when the message reveals a gap (a seq we cannot place yet).
  ingest(message, { notify = true } = {}) {
    if (!message || message.session_id !== this.sessionId) return false;
    if (this.seqMode === null) this.seqMode = message.seq != null;
    if (message.client_message_id && message.sender === this.role) this.outbox.delete(message.client_message_id);
    const known = this.byId.get(message.id);
    if (known) {
      if (RANK[message.status] > RANK[known.status]) {
        known.status = message.status;
        known.delivered_at = message.delivered_at || known.delivered_at;
        known.read_at = message.read_at || known.read_at;
      }
      if (notify) this.onChange("updated", known);
      return false;
    }
    const copy = { ...message, _order: this.byId.size };
    this.byId.set(copy.id, copy);
    let gap = false;
    if (this.seqMode && copy.seq != null) {
      this.seqs.add(copy.seq);
      if (copy.seq > this.lastSeq + 1) gap = true;
      while (this.seqs.has(this.lastSeq + 1)) this.lastSeq += 1;
      gap = gap && copy.seq > this.lastSeq;
    }
    if (notify) this.onChange("added", copy);
    return gap;
  }

  applyStatus({ message_ids: ids, status, at }) {
    for (const id of ids || []) {
      const known = this.byId.get(id);
      if (!known || RANK[status] <= RANK[known.status]) continue;
      known.status = status;
      if (status === "delivered") known.delivered_at = at;
      if (status === "read") { known.read_at = at; known.delivered_at = known.delivered_at || at; }
      this.onChange("updated", known);
    }
  }

  // What to ask for after a reconnect: from just before the oldest own message whose
  // receipt may still change, so missed `message.status` events are repaired too.
  _cursor(refreshReceipts) {
    if (this.seqMode === false) {
      const id = this.lastId();
      return id ? { after: id } : {};
    }
    let from = this.lastSeq;
    if (refreshReceipts) {
      for (const m of this.byId.values()) {
        if (m.sender === this.role && m.status !== "read" && m.seq != null && m.seq - 1 < from) from = m.seq - 1;
      }
    }
    return { after_seq: String(Math.max(0, from)) };
  }

  // Fetch what we may have missed. One fetch at a time; a request during one runs after it.
  catchUp({ refreshReceipts = false } = {}) {
    if (this._catching) {
      this._again = true;
      this._againReceipts = this._againReceipts || refreshReceipts;
      return this._catching;
    }
    this._catching = (async () => {
      try {
        let receipts = refreshReceipts;
        for (let round = 0; round < 5; round++) {
          this._again = false;
          const rows = await this.api.messagesSince(this.sessionId, this._cursor(receipts));
          let changed = false;
          for (const row of rows) { this.ingest(row, { notify: false }); changed = true; }
          if (changed) this.onChange("batch", null);
          const stillGap = this.seqMode && Array.from(this.seqs).some((s) => s > this.lastSeq + 1);
          if (!this._again && !stillGap) break;
          receipts = this._againReceipts || false;
          this._againReceipts = false;
        }
      } finally {
        this._catching = null;
      }
    })();
    return this._catching;
  }

  onMessageNew(message) {
    if (this.ingest(message)) {
      this.gapsSeen += 1;
      this.catchUp();
    }
  }

  // --- the outbox -------------------------------------------------------------------

  stop() {
    clearTimeout(this._retryTimer);
    this.outbox.clear();
  }

  send(body) {
    const cmid = newId();
    const local = { id: `local-${cmid}`, local: true, session_id: this.sessionId, client_message_id: cmid,
      sender: this.role, body, created_at: new Date().toISOString(), status: "pending" };
    this.outbox.set(cmid, local);
    this.onChange("added", local);
    this.flush();
    return local;
  }

  flush() {
    for (const local of this.outbox.values()) {
      if (local.inFlight || local.status === "failed") continue;
      local.inFlight = true;
      this._deliver(local).finally(() => { local.inFlight = false; });
    }
  }

  async _deliver(local) {
    const data = { session_id: this.sessionId, client_message_id: local.client_message_id, body: local.body };
    try {
      const stored = this.socket.ready
        ? await this.socket.request("message.send", data)
        : await this.api.post(`sessions/${this.sessionId}/messages`,
          { client_message_id: local.client_message_id, body: local.body });
      this._retries = 0;
      this.onMessageNew(stored); // an ack can reveal a gap as well as an event can
    } catch (err) {
      const transient = ["disconnected", "timeout", "network_error", "throttled", "service_unavailable",
        "server_error"].includes(err.code) || (err.status >= 500);
      if (transient) {
        // Stays in the outbox, retried with the same client_message_id: after the server's
        // `retry_after` hint (throttled), or after a back-off, or at the next reconnect.
        this._retryLater(err.retry_after);
      } else {
        local.status = "failed";
        local.error = err.message;
        this.onChange("updated", local);
      }
    }
  }

  _retryLater(retryAfter) {
    if (this._retryTimer) return;
    this._retries = (this._retries || 0) + 1;
    const seconds = retryAfter != null ? Number(retryAfter) : Math.min(15, 2 ** this._retries);
    this._retryTimer = setTimeout(() => {
      this._retryTimer = null;
      if (this.outbox.size) this.flush();
      else this._retries = 0;
    }, Math.max(0.2, seconds) * 1000 + Math.random() * 300);
  }
}

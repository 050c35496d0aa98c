// The app socket (api.md "WebSocket"), as an app must hold it:
// - first-frame auth (a browser cannot set the Authorization header), never a URL token;
// - `ref` → ack/error for frames that need an answer;
// - a ping every PING_MS; no pong within PONG_TIMEOUT_MS means the link is dead;
// - on any drop: reconnect with exponential back-off and full jitter (0.5 s doubling to
//   15 s), at once when the browser says it is back online or the tab becomes visible;
// - after every (re)authentication `onReady(reconnected)` runs, where the app catches up
//   through REST (the channel layer is at-most-once; PostgreSQL is the truth).
// Close codes: 4401 → refresh the token and reconnect; 4403 → stop (wrong role,
// deactivated or blocked account).

const PING_MS = 25000;
const PONG_TIMEOUT_MS = 10000;
const ACK_TIMEOUT_MS = 10000;
const BACKOFF_MIN_MS = 500;
const BACKOFF_MAX_MS = 15000;

export class AppSocket {
  constructor({ role, auth, onEvent, onReady, onStatus, onFatal }) {
    this.role = role;
    this.auth = auth;
    this.onEvent = onEvent;
    this.onReady = onReady;
    this.onStatus = onStatus || (() => {});
    this.onFatal = onFatal || (() => {});
    this.ws = null;
    this.ready = false;
    this.stopped = true;
    this.attempt = 0;
    this.everReady = false;
    this.pending = new Map(); // ref → {resolve, reject, timer}
    this.refCounter = 0;
    this.retryTimer = null;
    this.pingTimer = null;
    this.pongTimer = null;
    this.forceRefresh = false;
    this._wake = () => { if (!this.stopped && !this.ws) this._connectNow(); };
    this._onVisible = () => { if (document.visibilityState === "visible") this._wake(); };
  }

  start() {
    this.stopped = false;
    window.addEventListener("online", this._wake);
    document.addEventListener("visibilitychange", this._onVisible);
    this._connectNow();
  }

  stop() {
    this.stopped = true;
    window.removeEventListener("online", this._wake);
    document.removeEventListener("visibilitychange", this._onVisible);
    clearTimeout(this.retryTimer);
    this._teardown();
    if (this.ws) { try { this.ws.close(1000); } catch (err) { /* already closed */ } }
    this.ws = null;
  }

  _connectNow() {
    clearTimeout(this.retryTimer);
    this.retryTimer = null;
    if (this.stopped || this.ws) return;
    this._connect().catch(() => this._scheduleRetry());
  }

  async _connect() {
    const token = await this.auth.getToken(this.forceRefresh);
    this.forceRefresh = false;
    if (this.stopped || this.ws) return;
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const ws = new WebSocket(`${scheme}://${location.host}/ws/${this.role}/`);
    this.ws = ws;
    this.onStatus("connecting");
    ws.onopen = () => ws.send(JSON.stringify({ type: "auth", data: { token } }));
    ws.onmessage = (event) => this._receive(ws, event.data);
    ws.onclose = (event) => this._closed(ws, event.code);
    ws.onerror = () => { /* onclose follows */ };
  }

  _receive(ws, raw) {
    if (ws !== this.ws) return;
    let frame;
    try { frame = JSON.parse(raw); } catch (err) { return; }
    if (frame.type === "auth.ok") {
      const reconnected = this.everReady;
      this.ready = true;
      this.everReady = true;
      this.attempt = 0;
      this._schedulePing();
      this.onStatus("online");
      Promise.resolve(this.onReady(reconnected)).catch(() => {});
      return;
    }
    if (frame.type === "pong") clearTimeout(this.pongTimer);
    if (frame.ref != null && this.pending.has(frame.ref)) {
      const waiter = this.pending.get(frame.ref);
      this.pending.delete(frame.ref);
      clearTimeout(waiter.timer);
      if (frame.type === "error") waiter.reject(Object.assign(new Error(frame.data.detail), frame.data));
      else waiter.resolve(frame.data || {});
      return;
    }
    if (frame.type === "ack" || frame.type === "pong" || frame.type === "error") return;
    this.onEvent(frame.type, frame.data || {});
  }

  _closed(ws, code) {
    if (ws !== this.ws) return;
    this.ws = null;
    this.ready = false;
    this._teardown();
    if (this.stopped) return;
    if (code === 4403) {
      this.stopped = true;
      this.onStatus("stopped");
      this.onFatal(code);
      return;
    }
    if (code === 4401) this.forceRefresh = true;
    this.onStatus("offline");
    this._scheduleRetry();
  }

  _teardown() {
    clearTimeout(this.pingTimer);
    clearTimeout(this.pongTimer);
    for (const [, waiter] of this.pending) {
      clearTimeout(waiter.timer);
      waiter.reject(Object.assign(new Error("Koneksi terputus."), { code: "disconnected" }));
    }
    this.pending.clear();
  }

  _scheduleRetry() {
    if (this.stopped || this.retryTimer) return;
    const cap = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** this.attempt);
    this.attempt += 1;
    const delay = BACKOFF_MIN_MS / 2 + Math.random() * cap; // full jitter, never zero
    this.retryTimer = setTimeout(() => { this.retryTimer = null; this._connectNow(); }, delay);
  }

  _schedulePing() {
    clearTimeout(this.pingTimer);
    this.pingTimer = setTimeout(() => {
      if (!this.ready) return;
      this._rawSend({ type: "ping", ref: this._nextRef(), data: {} });
      this.pongTimer = setTimeout(() => this._kill(), PONG_TIMEOUT_MS);
      this._schedulePing();
    }, PING_MS);
  }

  // A half-open link (no pong): drop it ourselves so the reconnect starts now.
  _kill() {
    const ws = this.ws;
    if (!ws) return;
    try { ws.close(4000); } catch (err) { /* ignore */ }
    this._closed(ws, 4000);
  }

  _nextRef() {
    this.refCounter += 1;
    return `w${this.refCounter}`;
  }

  _rawSend(frame) {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN) return false;
    this.ws.send(JSON.stringify(frame));
    return true;
  }

  // Fire and forget (typing, receipts): dropped when offline; the catch-up repairs it.
  send(type, data) {
    return this.ready && this._rawSend({ type, data });
  }

  // A frame that must be answered: resolves with the ack's data, rejects with the error.
  request(type, data) {
    if (!this.ready) return Promise.reject(Object.assign(new Error("Offline"), { code: "disconnected" }));
    const ref = this._nextRef();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(ref);
        reject(Object.assign(new Error("Tidak ada jawaban."), { code: "timeout" }));
      }, ACK_TIMEOUT_MS);
      this.pending.set(ref, { resolve, reject, timer });
      this._rawSend({ type, ref, data });
    });
  }
}

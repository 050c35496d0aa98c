// A live conversation: messages with receipts, typing, the backend's clock, the composer.
// The client page shows one; the mitra page shows one per live session, side by side.
import { Timeline } from "./timeline.js";
import { clockTime, h, mmss, serverClock } from "./ui.js";

const STATUS_TEXT = { pending: "mengirim", sent: "terkirim", delivered: "diterima", read: "dibaca", failed: "gagal terkirim" };
const STATUS_MARK = { pending: "…", sent: "✓", delivered: "✓✓", read: "✓✓", failed: "!" };
const WRITABLE = ["active", "closing"];
const TYPING_IDLE_MS = 4000;
const TYPING_REPEAT_MS = 3000;
const TYPING_SHOWN_MS = 7000;
const TYPING_GAP_MS = 600; // the server's limit is one frame per 0.5 s

export class ChatPanel {
  constructor({ role, session, api, socket, otherName, onSession, headingLevel = "h2" }) {
    this.role = role;
    this.other = role === "client" ? "mitra" : "client";
    this.api = api;
    this.socket = socket;
    this.otherName = otherName;
    this.onSession = onSession || (() => {});
    this.session = session;
    this.items = new Map();
    this.deliveredQueue = new Set();
    this.readSentFor = null;
    this.timeline = new Timeline({ sessionId: session.id, role, api, socket, onChange: (kind, m) => this._changed(kind, m) });

    const titleId = `title-${session.id}`;
    this.title = h(headingLevel, { id: titleId, class: "panel-title" });
    this.stateLabel = h("span", { class: "state", "data-testid": "session-state" });
    this.clock = h("p", { class: "clock", "data-testid": "clock" });
    this.notices = h("div", { class: "notices" });
    this.log = h("ol", { class: "log", role: "log", "aria-live": "polite", "aria-labelledby": titleId, "data-testid": "messages" });
    this.typing = h("p", { class: "typing", "aria-live": "polite", "data-testid": "typing" });
    this.input = h("textarea", { id: `compose-${session.id}`, rows: "2", maxlength: "4000", "data-testid": "composer",
      autocomplete: "off", spellcheck: "true" });
    this.sendButton = h("button", { type: "submit", class: "primary", text: "Kirim" });
    this.form = h("form", { class: "composer", onsubmit: (event) => { event.preventDefault(); this._submit(); } },
      h("label", { for: this.input.id, class: "visually-hidden", text: "Tulis pesan" }), this.input, this.sendButton);
    this.actions = h("div", { class: "actions" });
    this.el = h("section", { class: "panel", "aria-labelledby": titleId, "data-session-id": session.id, "data-testid": "chat-panel" },
      h("div", { class: "panel-head" }, this.title, this.stateLabel, this.clock),
      this.notices, this.log, this.typing, this.form, this.actions);

    this.input.addEventListener("input", () => this._typed());
    this.input.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) { event.preventDefault(); this._submit(); }
    });
    this._visible = () => { if (document.visibilityState === "visible") this._markRead(); };
    document.addEventListener("visibilitychange", this._visible);
    this._tick = setInterval(() => this._renderClock(), 1000);
    this.setSession(session);
  }

  destroy() {
    this.timeline.stop();
    clearInterval(this._tick);
    clearTimeout(this._typingIdle);
    clearTimeout(this._typingShown);
    clearTimeout(this._typingLater);
    document.removeEventListener("visibilitychange", this._visible);
    this.el.remove();
  }

  // --- session --------------------------------------------------------------------------

  setSession(session) {
    this.session = session;
    serverClock.learn(session.server_time);
    const name = this.role === "client" ? session.mitra.display_name : session.client.alias;
    this.title.textContent = this.otherName || name;
    this.stateLabel.textContent = { awaiting_payment: "Menunggu pembayaran", active: "Berlangsung", closing: "Waktu pamit",
      closed: "Selesai", cancelled: "Dibatalkan" }[session.state] || session.state;
    this.stateLabel.dataset.state = session.state;
    const writable = WRITABLE.includes(session.state);
    this.input.disabled = !writable;
    this.sendButton.disabled = !writable;
    this.form.hidden = !writable && ["closed", "cancelled"].includes(session.state);
    this._renderClock();
    this.onSession(session, this);
  }

  _renderClock() {
    const s = this.session;
    let text = "";
    if (s.state === "awaiting_payment" && s.payment) text = `Bayar dalam ${mmss(serverClock.secondsUntil(s.payment.expires_at))}`;
    else if (s.state === "active") text = `Sisa waktu ${mmss(serverClock.secondsUntil(s.ends_at))}`;
    else if (s.state === "closing") text = `Waktu pamit ${mmss(serverClock.secondsUntil(s.closing_ends_at))}`;
    else if (s.state === "closed" || s.state === "cancelled") text = "Sesi berakhir";
    if (this.clock.textContent !== text) this.clock.textContent = text;
  }

  // --- events ---------------------------------------------------------------------------

  handle(type, data) {
    if (type === "message.new") this.timeline.onMessageNew(data);
    else if (type === "message.status") this.timeline.applyStatus(data);
    else if (type === "typing" && data.sender === this.other) this._showTyping(data.is_typing);
    else if (type === "session.updated") this.setSession(data);
    else if (type === "session.ending_soon") {
      this.session = { ...this.session, ends_at: data.ends_at }; // the backend's clock is the truth
      this._renderClock();
      const minutes = Math.max(1, Math.round(data.seconds_left / 60));
      this.notice("ending", `Sesi berakhir dalam ${minutes} menit.`, { urgent: true });
    }
  }

  // After (re)connecting: fetch whatever was missed, repair receipts, resend the outbox.
  async resync() {
    this.readSentFor = null;
    try {
      const fresh = await this.api.get(`sessions/${this.session.id}`);
      this.setSession(fresh);
    } catch (err) { /* shown by the next event or retry */ }
    await this.timeline.catchUp({ refreshReceipts: true });
    this.timeline.flush();
    this._receipts();
  }

  // --- notices (payment, extension, risk, warnings) ---------------------------------------

  notice(key, content, { urgent = false, testid } = {}) {
    let box = this.notices.querySelector(`[data-key="${key}"]`);
    if (!content) { if (box) box.remove(); return null; }
    if (!box) {
      box = h("div", { class: `notice${urgent ? " urgent" : ""}`, dataset: { key }, "data-testid": testid || `notice-${key}`,
        role: urgent ? "alert" : "status" });
      this.notices.append(box);
    }
    box.replaceChildren(...(Array.isArray(content) ? content : [typeof content === "string" ? h("p", { text: content }) : content]));
    return box;
  }

  // --- messages -------------------------------------------------------------------------

  _key(m) { return m.client_message_id ? `${m.sender}:${m.client_message_id}` : m.id; }

  _changed(kind, message) {
    // No extra announcement: the log is a polite live region that reads the new message
    // (with the sender's name first) by itself.
    if (kind === "added" && message && message.sender === this.other) this._showTyping(false);
    this._render();
    this._receipts();
  }

  _render() {
    const list = this.timeline.list();
    const wanted = new Set();
    list.forEach((m, index) => {
      const key = this._key(m);
      wanted.add(key);
      let li = this.items.get(key);
      if (!li) { li = this._item(m); this.items.set(key, li); }
      this._update(li, m);
      if (this.log.children[index] !== li) this.log.insertBefore(li, this.log.children[index] || null);
    });
    for (const [key, li] of this.items) if (!wanted.has(key)) { li.remove(); this.items.delete(key); }
    const nearBottom = this.log.scrollHeight - this.log.scrollTop - this.log.clientHeight < 120;
    if (nearBottom || list.length && list[list.length - 1].sender === this.role) this.log.scrollTop = this.log.scrollHeight;
  }

  _item(m) {
    const who = m.sender === this.role ? "Kamu" : m.sender === "system" ? "Info" : this.title.textContent;
    const li = h("li", { class: `msg ${m.sender === this.role ? "mine" : m.sender === "system" ? "system" : "theirs"}`,
      "data-testid": "message" },
    h("span", { class: "visually-hidden", text: `${who}: ` }),
    h("p", { class: "body", text: m.body }),
    h("span", { class: "meta" }, h("time", { datetime: m.created_at, text: clockTime(m.created_at) })));
    if (m.sender === this.role) {
      li.querySelector(".meta").append(h("span", { class: "status", "data-testid": "status" }));
    }
    return li;
  }

  _update(li, m) {
    li.dataset.id = m.local ? "" : m.id;
    li.dataset.seq = m.seq != null ? m.seq : "";
    const status = li.querySelector(".status");
    if (status && status.dataset.status !== m.status) {
      status.dataset.status = m.status;
      status.textContent = STATUS_MARK[m.status] || "";
      status.setAttribute("aria-label", STATUS_TEXT[m.status] || m.status);
      status.title = STATUS_TEXT[m.status] || m.status;
      if (m.status === "failed" && !li.querySelector(".retry")) {
        li.append(h("button", { type: "button", class: "retry link", text: "Kirim ulang",
          onclick: () => { m.status = "pending"; li.querySelector(".retry").remove(); this.timeline.flush(); this._render(); } }));
      }
    }
  }

  _submit() {
    const body = this.input.value;
    if (!body.trim() || this.input.disabled) return;
    this.input.value = "";
    this._stopTyping();
    this.timeline.send(body);
    this.input.focus();
  }

  // --- receipts -------------------------------------------------------------------------

  _receipts() {
    const theirs = this.timeline.list().filter((m) => !m.local && m.sender === this.other);
    const undelivered = theirs.filter((m) => m.status === "sent").map((m) => m.id);
    if (undelivered.length && this.socket.send("message.delivered", { session_id: this.session.id, message_ids: undelivered.slice(-500) })) {
      for (const m of theirs) if (m.status === "sent") m.status = "delivered";
    }
    this._markRead();
  }

  _markRead() {
    if (document.visibilityState !== "visible") return;
    const theirs = this.timeline.list().filter((m) => !m.local && m.sender === this.other);
    const last = theirs[theirs.length - 1];
    if (!last || last.status === "read" || this.readSentFor === last.id) return;
    if (this.socket.send("message.read", { session_id: this.session.id, up_to: last.id })) {
      this.readSentFor = last.id;
      for (const m of theirs) m.status = "read";
    }
  }

  // --- typing ---------------------------------------------------------------------------

  // The server relays at most two typing frames a second per socket and answers a faster
  // one with `throttled` (unseen: typing frames carry no ref), so a "typing" right after a
  // "stopped" waits for its turn instead of being lost.
  _typed() {
    const now = Date.now();
    if (!this._typingOn || now - this._typingAt > TYPING_REPEAT_MS) this._typingFrame(true);
    clearTimeout(this._typingIdle);
    this._typingIdle = setTimeout(() => this._stopTyping(), TYPING_IDLE_MS);
  }

  _typingFrame(on) {
    clearTimeout(this._typingLater);
    const wait = (this.socket.lastTypingFrame || 0) + TYPING_GAP_MS - Date.now();
    if (on && wait > 0) {
      this._typingOn = true;
      this._typingAt = Date.now();
      this._typingLater = setTimeout(() => { if (this._typingOn) this._typingFrame(true); }, wait);
      return;
    }
    if (this.socket.send("typing", { session_id: this.session.id, is_typing: on })) {
      this.socket.lastTypingFrame = Date.now(); // per socket: the limit is the socket's, shared by panels
      this._typingOn = on;
      this._typingAt = this.socket.lastTypingFrame;
    }
  }

  _stopTyping() {
    clearTimeout(this._typingIdle);
    clearTimeout(this._typingLater);
    if (this._typingOn) this._typingFrame(false);
    this._typingOn = false;
  }

  _showTyping(on) {
    clearTimeout(this._typingShown);
    this.typing.textContent = on ? `${this.title.textContent} sedang mengetik…` : "";
    if (on) this._typingShown = setTimeout(() => { this.typing.textContent = ""; }, TYPING_SHOWN_MS);
  }
}

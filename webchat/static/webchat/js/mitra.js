// The mitra's web page: phone sign-in, online/offline with heartbeats while the page is
// open, offers, several live sessions side by side, extensions, risk flags, history.
import { Api } from "./api.js";
import { loadAuth } from "./auth.js";
import { ChatPanel } from "./chatview.js";
import { config } from "./config.js";
import { installQuickExit, onExit } from "./exit.js";
import { phoneForm } from "./signin.js";
import { AppSocket } from "./socket.js";
import { alertBox, announce, dateTime, errorText, h, mmss, mount, serverClock } from "./ui.js";

const root = document.getElementById("app");
const state = { auth: null, api: null, socket: null, me: null, presence: null, offers: new Map(), panels: new Map(),
  heartbeat: null, tick: null };
if (config.auth === "dev") window.__webchat = state; // for the browser tests (development mode only)

const RISK_TEXT = { high: "Risiko tinggi", medium: "Risiko sedang" };
const GENERIC_GUIDANCE = "Dengarkan dengan empati, tanyakan langsung soal keselamatannya, dan arahkan ke layanan darurat (112 / 119 ext 8) bila perlu.";

let presenceBox, presenceButton, offersList, panelsBox;

function wipe() {
  clearInterval(state.heartbeat);
  clearInterval(state.tick);
  for (const panel of state.panels.values()) panel.destroy();
  state.panels.clear();
  state.offers.clear();
  if (state.socket) state.socket.stop();
  if (state.auth) state.auth.signOut();
  state.socket = null;
}

function signInScreen() {
  mount(root, h("h1", { text: "Masuk sebagai mitra" }),
    h("section", { class: "card" }, h("p", { class: "muted", text: "Gunakan nomor HP yang didaftarkan tim Halo Bestie." }),
      phoneForm({ auth: state.auth, onDone: signedIn, onError: alertBox })));
}

async function signedIn() {
  try {
    state.me = await state.api.post("auth/session");
  } catch (err) {
    await state.auth.signOut();
    alertBox(errorText(err));
    return;
  }
  dashboard();
  state.socket = new AppSocket({ role: "mitra", auth: state.auth, onEvent, onReady,
    onStatus: (status) => { document.body.dataset.socket = status; },
    onFatal: () => alertBox("Akun mitra ini tidak dapat digunakan saat ini.") });
  state.socket.start();
}

function dashboard() {
  presenceButton = h("button", { type: "button", class: "toggle", "aria-pressed": "false", "data-testid": "presence-toggle",
    onclick: togglePresence, text: "Online" });
  presenceBox = h("p", { class: "muted", "data-testid": "presence", "aria-live": "polite" });
  offersList = h("ul", { class: "offers", "aria-live": "polite", "data-testid": "offers" });
  panelsBox = h("div", { class: "panels", "data-testid": "panels" });
  mount(root,
    h("h1", { text: `Halo, ${state.me.display_name}` }),
    h("section", { class: "card presence", "aria-labelledby": "presence-title" }, h("h2", { id: "presence-title", text: "Status" }),
      h("div", { class: "row" }, presenceButton, presenceBox)),
    h("section", { "aria-labelledby": "offers-title" }, h("h2", { id: "offers-title", text: "Permintaan masuk" }), offersList),
    h("section", { "aria-labelledby": "sessions-title" }, h("h2", { id: "sessions-title", text: "Sesi berlangsung" }), panelsBox),
    h("p", {}, h("button", { type: "button", class: "link", text: "Riwayat sesi", onclick: historyScreen })));
  state.tick = setInterval(renderOffers, 1000);
  renderOffers();
}

// --- presence and heartbeats ----------------------------------------------------------------

function setPresence(presence) {
  state.presence = presence;
  const online = presence.status === "online";
  presenceButton.setAttribute("aria-pressed", String(online));
  presenceButton.textContent = online ? "Online — ketuk untuk offline" : "Offline — ketuk untuk online";
  presenceButton.dataset.status = presence.status;
  presenceBox.textContent = online ? `Kamu online · ${presence.live_sessions}/${presence.max_customers} sesi` : "Kamu offline. Kamu tidak menerima permintaan baru.";
  clearInterval(state.heartbeat);
  if (online) {
    // While this page is open and online; closing it stops them, and the backend sets the
    // mitra offline after auto_offline_after (with a grace period for live sessions).
    state.heartbeat = setInterval(sendHeartbeat, Math.max(5, presence.heartbeat_interval) * 1000);
  }
}

async function sendHeartbeat() {
  try {
    if (state.socket && state.socket.ready) setPresence(await state.socket.request("presence.heartbeat", {}));
    else setPresence(await state.api.post("presence/heartbeat"));
  } catch (err) { /* the next beat retries */ }
}

async function togglePresence() {
  const next = state.presence && state.presence.status === "online" ? "offline" : "online";
  try {
    setPresence(await state.api.put("presence", { status: next }));
    announce(next === "online" ? "Kamu sekarang online." : "Kamu sekarang offline.");
    if (next === "online") await loadOffers();
  } catch (err) { alertBox(errorText(err)); }
}

// --- offers -----------------------------------------------------------------------------------

async function loadOffers() {
  try {
    const offers = await state.api.get("pairing-requests");
    state.offers = new Map(offers.map((o) => [o.id, o]));
    renderOffers(true);
  } catch (err) { /* retried after the next reconnect */ }
}

function renderOffers(force = false) {
  if (!offersList) return;
  for (const [id, offer] of state.offers) if (serverClock.secondsUntil(offer.expires_at) <= 0) state.offers.delete(id);
  const ids = new Set(state.offers.keys());
  for (const li of [...offersList.querySelectorAll("li[data-offer-id]")]) if (!ids.has(li.dataset.offerId)) li.remove();
  for (const offer of state.offers.values()) {
    let li = offersList.querySelector(`li[data-offer-id="${offer.id}"]`);
    if (!li) {
      li = h("li", { class: "card offer", dataset: { offerId: offer.id }, "data-testid": "offer" },
        h("p", {}, h("strong", { text: offer.client.alias }), ` · ${offer.free_trial ? "Gratis " : ""}${offer.minutes || ""} menit`),
        h("p", { class: "topic", text: offer.topic ? `Topik: ${offer.topic}` : "Tanpa topik" }),
        h("p", { class: "muted countdown" }),
        h("div", { class: "row" },
          h("button", { type: "button", class: "primary", text: "Terima", onclick: () => acceptOffer(offer.id) }),
          h("button", { type: "button", class: "secondary", text: "Tolak", onclick: () => declineOffer(offer.id) })));
      offersList.append(li);
      if (!force) announce(`Permintaan baru dari ${offer.client.alias}.`);
    }
    li.querySelector(".countdown").textContent = `Berlaku ${mmss(serverClock.secondsUntil(offer.expires_at))}`;
  }
  if (!state.offers.size && !offersList.querySelector(".empty")) offersList.append(h("li", { class: "muted empty", text: "Belum ada permintaan." }));
  if (state.offers.size) offersList.querySelector(".empty")?.remove();
}

async function acceptOffer(id) {
  try {
    const session = await state.api.post(`pairing-requests/${id}/accept`);
    state.offers.delete(id);
    renderOffers();
    addPanel(session);
    announce("Sesi baru dimulai.");
    refreshPresence();
  } catch (err) {
    state.offers.delete(id);
    renderOffers();
    alertBox(errorText(err));
  }
}

async function declineOffer(id) {
  try { await state.api.post(`pairing-requests/${id}/decline`); } catch (err) { /* gone anyway */ }
  state.offers.delete(id);
  renderOffers();
}

// --- sessions side by side ----------------------------------------------------------------

function addPanel(session) {
  let panel = state.panels.get(session.id);
  if (panel) { panel.setSession(session); return panel; }
  panel = new ChatPanel({ role: "mitra", session, api: state.api, socket: state.socket, onSession: mitraExtras });
  state.panels.set(session.id, panel);
  panelsBox.append(panel.el);
  mitraExtras(session, panel);
  panel.timeline.catchUp();
  return panel;
}

function removePanel(id) {
  const panel = state.panels.get(id);
  if (panel) { panel.destroy(); state.panels.delete(id); }
  refreshPresence();
}

async function refreshPresence() {
  try { setPresence(await state.api.get("presence")); } catch (err) { /* the next heartbeat shows it */ }
}

function mitraExtras(session, panel) {
  if (["awaiting_payment", "active", "closing"].includes(session.state)) panel.wasLive = true;
  if (session.risk_level && !panel.notices.querySelector('[data-key="risk"]')) {
    riskNotice(panel, session.risk_level, panel.guidance || GENERIC_GUIDANCE);
  }
  const ext = session.pending_extension;
  if (ext && ext.state === "requested") extensionAsk(panel, ext);
  else if (ext && ext.state === "accepted") panel.notice("extension", "Perpanjangan disetujui. Menunggu pembayaran klien.", { testid: "extension" });
  else panel.notice("extension", null);
  if (session.state === "awaiting_payment") panel.notice("payment", "Menunggu klien menyelesaikan pembayaran.");
  else panel.notice("payment", null);
  const buttons = [];
  if (session.can_end_early) {
    buttons.push(h("button", { type: "button", class: "danger", text: "Akhiri sesi", onclick: async () => {
      if (!window.confirm("Akhiri sesi ini sekarang?")) return;
      try { panel.setSession(await state.api.post(`sessions/${session.id}/end`, { reason: "mitra_request" })); } catch (err) { alertBox(errorText(err)); }
    } }));
  }
  if (["closed", "cancelled"].includes(session.state)) {
    if (panel.wasLive) { panel.wasLive = false; refreshPresence(); }
    buttons.push(h("button", { type: "button", class: "secondary", text: "Tutup panel", onclick: () => removePanel(session.id) }));
  }
  panel.actions.replaceChildren(...buttons);
}

function riskNotice(panel, level, guidance) {
  panel.notice("risk", [h("p", {}, h("strong", { text: `${RISK_TEXT[level] || "Risiko"}` }), " — sesi ini ditandai."),
    h("p", { text: guidance })], { urgent: true, testid: "risk" });
}

function extensionAsk(panel, ext) {
  const answer = async (verb) => {
    try {
      await state.api.post(`sessions/${panel.session.id}/extensions/${ext.id}/${verb}`);
      panel.setSession(await state.api.get(`sessions/${panel.session.id}`));
    } catch (err) { alertBox(errorText(err)); panel.notice("extension", null); }
  };
  panel.notice("extension", [h("p", { text: `Klien meminta perpanjangan ${ext.tier.minutes} menit (jawab dalam ${mmss(serverClock.secondsUntil(ext.respond_by))}).` }),
    h("div", { class: "row" }, h("button", { type: "button", class: "primary", text: "Setujui", onclick: () => answer("accept") }),
      h("button", { type: "button", class: "secondary", text: "Tolak", onclick: () => answer("reject") }))], { urgent: true, testid: "extension" });
}

// --- socket -------------------------------------------------------------------------------

function onEvent(type, data) {
  if (type === "presence.updated") return setPresence(data);
  if (type === "pairing.offer") { state.offers.set(data.id, data); return renderOffers(); }
  if (type === "pairing.offer_withdrawn") { state.offers.delete(data.id); return renderOffers(); }
  if (type === "session.reassigned") {
    if (data.session) addPanel(data.session);
    else { removePanel(data.session_id); alertBox("Sebuah sesi dialihkan ke mitra lain."); }
    return undefined;
  }
  const sid = type === "session.updated" ? data.id : data.session_id;
  const panel = state.panels.get(sid);
  if (!panel) {
    if (type === "session.updated" && ["awaiting_payment", "active", "closing"].includes(data.state)) addPanel(data);
    return undefined;
  }
  if (type === "session.risk_flagged") { panel.guidance = data.guidance; return riskNotice(panel, data.risk_level, data.guidance); }
  if (type === "extension.requested") return extensionAsk(panel, data);
  if (type === "extension.updated") {
    return state.api.get(`sessions/${sid}`).then((s) => panel.setSession(s)).catch(() => {});
  }
  return panel.handle(type, data);
}

async function onReady() {
  try { setPresence(await state.api.get("presence")); } catch (err) { /* next reconnect */ }
  await loadOffers();
  try {
    const live = await state.api.get("sessions?state=live");
    const ids = new Set(live.results.map((s) => s.id));
    for (const s of live.results) addPanel(s);
    await Promise.all([...state.panels.values()].filter((p) => ids.has(p.session.id)).map((p) => p.resync()));
  } catch (err) { /* next reconnect */ }
}

// --- history --------------------------------------------------------------------------------

async function historyScreen() {
  const list = h("ul", { class: "history", "data-testid": "history" });
  const back = h("button", { type: "button", class: "link", text: "Kembali", onclick: () => { dialog.close(); } });
  const dialog = h("dialog", { class: "dialog wide", "aria-labelledby": "history-title" }, h("h2", { id: "history-title", text: "Riwayat sesi" }), list, back);
  dialog.addEventListener("close", () => dialog.remove());
  document.body.append(dialog);
  dialog.showModal();
  try {
    const page = await state.api.get("sessions?state=past");
    for (const s of page.results) {
      const item = h("li", { class: "card" }, h("p", {}, h("strong", { text: s.client.alias }), ` · ${dateTime(s.started_at || s.closed_at)}`),
        h("button", { type: "button", class: "link", text: "Lihat transkrip", onclick: async () => {
          const t = await state.api.get(`sessions/${s.id}/transcript`);
          item.append(h("ol", { class: "log transcript" }, t.messages.map((m) => h("li", { class: `msg ${m.sender === "mitra" ? "mine" : m.sender === "system" ? "system" : "theirs"}` },
            h("p", { class: "body", text: m.body })))));
        } }));
      list.append(item);
    }
    if (!page.results.length) list.append(h("li", { class: "muted", text: "Belum ada sesi." }));
  } catch (err) { alertBox(errorText(err)); }
}

async function main() {
  installQuickExit();
  onExit(wipe);
  window.addEventListener("pagehide", wipe);
  try { state.auth = await loadAuth(config); } catch (err) {
    mount(root, h("h1", { text: "Tidak dapat memuat" }), h("p", { text: "Masuk belum dikonfigurasi di server ini." }));
    return;
  }
  state.api = new Api("mitra", state.auth);
  signInScreen();
}

main();

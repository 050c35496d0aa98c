// The client's web chat: sign in, pricing, Mulai Curhat, the waiting screen, the session,
// history. Every piece of state lives in this module's memory and nowhere else.
import { Api } from "./api.js";
import { loadAuth } from "./auth.js";
import { ChatPanel } from "./chatview.js";
import { clientSessionExtras, endedView } from "./client-session.js";
import { config } from "./config.js";
import { installQuickExit, onExit } from "./exit.js";
import { googleForm, phoneForm } from "./signin.js";
import { AppSocket } from "./socket.js";
import { alertBox, announce, dateTime, errorText, field, h, mmss, mount, rupiah, serverClock } from "./ui.js";

const root = document.getElementById("app");
const state = { auth: null, api: null, socket: null, me: null, pricing: null, request: null, panel: null, timers: [] };
if (config.auth === "dev") window.__webchat = state; // for the browser tests (development mode only)

function clearTimers() { for (const t of state.timers) clearInterval(t); state.timers = []; }

function wipe() {
  clearTimers();
  if (state.panel) state.panel.destroy();
  if (state.socket) state.socket.stop();
  if (state.auth) state.auth.signOut();
  Object.assign(state, { me: null, pricing: null, request: null, panel: null, socket: null });
}

// --- sign in -------------------------------------------------------------------------------

function signInScreen() {
  const name = h("input", { type: "text", name: "display_name", maxlength: "60", autocomplete: "nickname", "data-testid": "display-name" });
  const anonymous = h("form", { class: "stack", onsubmit: async (event) => {
    event.preventDefault();
    try {
      await state.auth.signInAnonymously();
      await signedIn(name.value.trim());
    } catch (err) { alertBox(errorText(err)); }
  } }, field("Nama panggilan (boleh samaran)", name), h("button", { type: "submit", class: "primary", text: "Masuk tanpa nama" }));
  const done = () => signedIn(null);
  mount(root,
    h("h1", { text: "Halo, selamat datang" }),
    h("p", { class: "lead", text: "Ceritakan apa pun yang sedang kamu rasakan. Percakapanmu rahasia." }),
    h("section", { class: "card", "aria-labelledby": "anon-title" }, h("h2", { id: "anon-title", text: "Tanpa nama" }),
      h("p", { class: "muted", text: "Tanpa nomor HP atau email. Riwayatmu hilang saat halaman ditutup." }), anonymous),
    h("section", { class: "card", "aria-labelledby": "reg-title" }, h("h2", { id: "reg-title", text: "Masuk atau daftar" }),
      phoneForm({ auth: state.auth, onDone: done, onError: alertBox }),
      h("p", { class: "or", text: "atau" }),
      googleForm({ auth: state.auth, onDone: done, onError: alertBox })));
}

async function signedIn(displayName) {
  const body = displayName ? { display_name: displayName } : {};
  state.me = await state.api.post("auth/session", body);
  startSocket();
  const live = await state.api.get("sessions?state=live");
  if (live.results.length) return openSession(live.results[0]);
  return homeScreen();
}

function startSocket() {
  if (state.socket) return;
  state.socket = new AppSocket({
    role: "client", auth: state.auth,
    onEvent: onEvent,
    onReady: (reconnected) => onReady(reconnected),
    onStatus: (status) => { document.body.dataset.socket = status; },
    onFatal: () => alertBox("Akunmu tidak dapat menggunakan chat saat ini."),
  });
  state.socket.start();
}

async function onReady() {
  if (state.panel) await state.panel.resync();
  if (state.request && state.request.state === "searching") await refreshRequest();
}

function onEvent(type, data) {
  if (type === "pairing.matched" && state.request && data.request_id === state.request.id) return openSession(data.session);
  if (type === "pairing.expired" && state.request && data.request_id === state.request.id) return noBestieScreen();
  const panel = state.panel;
  if (!panel) return undefined;
  const sid = data.session_id || (type.startsWith("session.updated") ? data.id : null);
  if (type === "session.reassigned" && data.session_id === panel.session.id) {
    if (data.session) { panel.setSession(data.session); announce("Mitra baru bergabung dan melanjutkan sesimu."); }
    return undefined;
  }
  if (sid !== panel.session.id) return undefined;
  if (type === "extension.updated" || type === "payment.updated") return panel.extras && panel.extras.event(type, data);
  return panel.handle(type, data);
}

// --- home: pricing, free trial, Mulai Curhat -----------------------------------------------

async function homeScreen() {
  clearTimers();
  state.request = null;
  try {
    state.pricing = await state.api.get("pricing");
  } catch (err) { alertBox(errorText(err)); state.pricing = { tiers: [], extension_tiers: [], free_trial: {} }; }
  const { tiers, free_trial: trial } = state.pricing;
  const options = [];
  if (trial.enabled && trial.eligible) {
    options.push({ value: "trial", label: `Coba gratis · ${trial.minutes} menit`, price: "Gratis" });
  }
  for (const tier of tiers) options.push({ value: tier.id, label: `${tier.name} · ${tier.minutes} menit`, price: rupiah(tier.price) });
  const radios = options.map((option, index) => h("label", { class: "choice" },
    h("input", { type: "radio", name: "tier", value: option.value, checked: index === 0, required: true }),
    h("span", { class: "choice-label", text: option.label }), h("span", { class: "price", text: option.price })));
  const topic = h("textarea", { name: "topic", maxlength: "200", rows: "2", "data-testid": "topic" });
  const previous = h("input", { type: "checkbox", name: "prefer_previous_mitra" });
  const form = h("form", { class: "stack", onsubmit: async (event) => {
    event.preventDefault();
    const choice = form.querySelector("input[name=tier]:checked");
    if (!choice) return alertBox("Pilih paket dulu.");
    const body = choice.value === "trial" ? { free_trial: true } : { tier_id: choice.value };
    if (topic.value.trim()) body.topic = topic.value.trim();
    if (previous.checked) body.prefer_previous_mitra = true;
    try {
      state.request = await state.api.post("pairing-requests", body);
      waitingScreen();
    } catch (err) {
      alertBox(errorText(err));
      if (err.code === "registration_required") registerCard(form.parentElement);
    }
  } },
  h("fieldset", {}, h("legend", { text: "Pilih paket" }), options.length ? radios : h("p", { text: "Belum ada paket tersedia." })),
  field("Topik (opsional)", topic, "Misalnya: pekerjaan, keluarga, hubungan. Paling banyak 200 karakter."),
  h("label", { class: "check" }, previous, " Utamakan mitraku sebelumnya"),
  h("button", { type: "submit", class: "primary big", text: "Mulai Curhat", disabled: !options.length }));
  const section = h("section", { class: "card", "aria-labelledby": "start-title" }, h("h2", { id: "start-title", text: "Mulai sesi" }), form);
  const views = [
    h("h1", { text: state.me.display_name ? `Hai, ${state.me.display_name}` : "Hai" }),
    section,
    h("p", {}, h("button", { type: "button", class: "link", text: "Riwayat sesi", onclick: historyScreen })),
  ];
  if (state.me.is_anonymous) views.splice(2, 0, registerCard());
  mount(root, ...views);
}

function registerCard(into) {
  const shown = document.querySelector("[data-testid=register]");
  if (into && shown) { // already on screen: take the person there
    shown.scrollIntoView({ block: "center" });
    shown.querySelector("input").focus();
    return shown;
  }
  const card = h("section", { class: "card", "aria-labelledby": "register-title", "data-testid": "register" },
    h("h2", { id: "register-title", text: "Daftar" }),
    h("p", { class: "muted", text: "Sesi berbayar dan perpanjangan perlu akun terdaftar. Riwayatmu tetap tersambung." }),
    phoneForm({ auth: state.auth, link: true, submitText: "Daftar", onDone: registered, onError: alertBox }),
    googleForm({ auth: state.auth, link: true, text: "Daftar dengan Google", onDone: registered, onError: alertBox }));
  if (into) into.append(card);
  return card;
}

async function registered() {
  state.me = await state.api.post("auth/session", {});
  announce("Akunmu sudah terdaftar.");
  if (state.panel) { state.panel.extras.refresh(); document.querySelector("[data-testid=register]")?.remove(); return; }
  await homeScreen();
}

// --- waiting -------------------------------------------------------------------------------

function waitingScreen() {
  clearTimers();
  const info = h("p", { class: "waiting-info", "data-testid": "waiting-info" });
  const countdown = h("p", { class: "muted", "data-testid": "waiting-countdown" });
  const cancel = h("button", { type: "button", class: "secondary", text: "Batalkan", onclick: async () => {
    try { state.request = await state.api.post(`pairing-requests/${state.request.id}/cancel`); } catch (err) { alertBox(errorText(err)); }
    homeScreen();
  } });
  mount(root, h("h1", { text: "Mencarikan bestie untukmu…" }), h("div", { class: "card waiting", "aria-live": "polite" },
    h("div", { class: "pulse", "aria-hidden": "true" }), info, countdown), cancel);
  const render = () => {
    const r = state.request;
    if (!r || r.state !== "searching") return;
    const w = r.waiting || {};
    let text;
    if (w.no_mitra_online) text = "Saat ini belum ada bestie yang online. Kami tetap mencarikan sampai waktu habis.";
    else if (w.preferred_mitra_first) text = "Kami menawarkan dulu ke mitramu sebelumnya, lalu ke yang lain.";
    else text = `Permintaanmu sudah dikirim ke ${w.offered_to || 0} bestie yang online.`;
    if (w.median_wait_seconds) text += ` Biasanya dijawab dalam ${Math.max(1, Math.round(w.median_wait_seconds))} detik.`;
    if (info.textContent !== text) info.textContent = text;
    countdown.textContent = `Sisa waktu mencari ${mmss(serverClock.secondsUntil(r.expires_at))}`;
  };
  render();
  state.timers.push(setInterval(render, 1000));
  state.timers.push(setInterval(refreshRequest, 5000)); // the honest figures, and a missed event
}

async function refreshRequest() {
  if (!state.request) return;
  try {
    const fresh = await state.api.get(`pairing-requests/${state.request.id}`);
    if (!state.request || fresh.id !== state.request.id) return;
    state.request = fresh;
    if (fresh.state === "matched" && fresh.session_id && !state.panel) {
      openSession(await state.api.get(`sessions/${fresh.session_id}`));
    } else if (fresh.state === "expired") noBestieScreen();
  } catch (err) { /* retried on the next tick */ }
}

function noBestieScreen() {
  clearTimers();
  state.request = null;
  mount(root, h("h1", { text: "Belum ada bestie yang tersedia" }),
    h("p", { text: "Maaf, belum ada yang bisa menemanimu sekarang. Coba lagi sebentar lagi." }),
    h("p", { class: "muted", text: "Jika kamu dalam bahaya, hubungi 112 atau layanan kesehatan jiwa 119 ext 8." }),
    h("button", { type: "button", class: "primary", text: "Coba lagi", onclick: homeScreen }));
}

// --- the session ---------------------------------------------------------------------------

async function openSession(session) {
  clearTimers();
  state.request = null;
  if (state.panel && state.panel.session.id === session.id) return;
  if (state.panel) state.panel.destroy();
  if (!state.pricing) { try { state.pricing = await state.api.get("pricing"); } catch (err) { /* extension tiers later */ } }
  const panel = new ChatPanel({ role: "client", session, api: state.api, socket: state.socket, headingLevel: "h1",
    onSession: (s, p) => { if (p.extras) p.extras.session(s); } });
  state.panel = panel;
  panel.extras = clientSessionExtras({ panel, state, onEnded: () => showEnded(panel), onRegister: () => registerCard(root) });
  panel.extras.session(session);
  mount(root, panel.el, h("p", { class: "muted small", text: "Dalam keadaan darurat, hubungi 112 atau 119 ext 8." }));
  panel.input.focus();
  // Events sent while this screen was being built (the invoice URL, say) are not lost:
  // read the session once more, then the messages.
  try { panel.setSession(await state.api.get(`sessions/${session.id}`)); } catch (err) { /* the next event */ }
  await panel.timeline.catchUp();
}

function showEnded(panel) {
  if (root.querySelector("[data-testid=ended]")) return;
  root.append(endedView({ state, session: panel.session, onHome: () => { panel.destroy(); state.panel = null; homeScreen(); } }));
}

// --- history -------------------------------------------------------------------------------

async function historyScreen() {
  clearTimers();
  const list = h("ul", { class: "history", "data-testid": "history" });
  const more = h("button", { type: "button", class: "secondary", text: "Muat lagi", hidden: true });
  let cursor = null;
  const load = async () => {
    try {
      const page = await state.api.get(`sessions?state=past${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`);
      for (const s of page.results) {
        list.append(h("li", { class: "card" },
          h("p", {}, h("strong", { text: s.mitra.display_name }), ` · ${dateTime(s.started_at || s.closed_at)}`),
          h("p", { class: "muted", text: s.state === "cancelled" ? "Dibatalkan" : "Selesai" }),
          h("button", { type: "button", class: "link", text: "Lihat transkrip", onclick: () => transcriptScreen(s.id) })));
      }
      if (!list.children.length) list.append(h("li", { class: "muted", text: "Belum ada sesi." }));
      cursor = page.next;
      more.hidden = !cursor;
    } catch (err) { alertBox(errorText(err)); }
  };
  more.addEventListener("click", load);
  mount(root, h("h1", { text: "Riwayat sesi" }), list, more, h("button", { type: "button", class: "link", text: "Kembali", onclick: homeScreen }));
  await load();
}

async function transcriptScreen(sessionId) {
  const { session, messages } = await state.api.get(`sessions/${sessionId}/transcript`);
  const log = h("ol", { class: "log transcript", "aria-label": "Transkrip", "data-testid": "transcript" },
    messages.map((m) => h("li", { class: `msg ${m.sender === "client" ? "mine" : m.sender === "system" ? "system" : "theirs"}` },
      h("span", { class: "visually-hidden", text: m.sender === "client" ? "Kamu: " : m.sender === "system" ? "Info: " : `${session.mitra.display_name}: ` }),
      h("p", { class: "body", text: m.body }), h("span", { class: "meta", text: dateTime(m.created_at) }))));
  mount(root, h("h1", { text: `Sesi dengan ${session.mitra.display_name}` }), log,
    endedView({ state, session, compact: true, onHome: historyScreen }));
}

// --- start ---------------------------------------------------------------------------------

async function main() {
  installQuickExit();
  onExit(wipe);
  window.addEventListener("pagehide", wipe);
  try {
    state.auth = await loadAuth(config);
  } catch (err) {
    mount(root, h("h1", { text: "Tidak dapat memuat" }), h("p", { text: "Masuk belum dikonfigurasi di server ini." }));
    return;
  }
  state.api = new Api("client", state.auth);
  signInScreen();
}

main();

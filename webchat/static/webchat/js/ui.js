// Small DOM helpers. Text goes in through textContent only: no HTML from data, ever.

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === false || value === null || value === undefined) continue;
    if (key === "class") el.className = value;
    else if (key === "text") el.textContent = value;
    else if (key.startsWith("on") && typeof value === "function") el.addEventListener(key.slice(2), value);
    else if (key === "dataset") Object.assign(el.dataset, value);
    else el.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

let firstScreen = true;

export function mount(root, ...children) {
  root.replaceChildren(...children);
  root.removeAttribute("aria-busy");
  const heading = root.querySelector("h1, h2");
  if (firstScreen) { firstScreen = false; return; } // the page's own start: skip link, quick exit first
  if (heading) {
    heading.setAttribute("tabindex", "-1");
    heading.focus({ preventScroll: true }); // a new screen: screen readers start at its title
  }
}

export function announce(text) {
  const el = document.getElementById("announcer");
  if (!el) return;
  el.textContent = "";
  setTimeout(() => { el.textContent = text; }, 30);
}

export function alertBox(text) {
  const el = document.getElementById("alerts");
  if (!el) return;
  el.replaceChildren(h("p", { class: "alert", text }));
  if (text) setTimeout(() => { if (el.textContent === text) el.replaceChildren(); }, 8000);
}

export function rupiah(amount) {
  return `Rp${Number(amount || 0).toLocaleString("id-ID")}`;
}

export function clockTime(iso) {
  return new Date(iso).toLocaleTimeString("id-ID", { hour: "2-digit", minute: "2-digit" });
}

export function dateTime(iso) {
  return iso ? new Date(iso).toLocaleString("id-ID", { dateStyle: "medium", timeStyle: "short" }) : "";
}

export function field(label, input, hint) {
  const id = input.id || `f-${Math.random().toString(36).slice(2, 9)}`;
  input.id = id;
  const parts = [h("label", { for: id, text: label }), input];
  if (hint) {
    const hintId = `${id}-hint`;
    input.setAttribute("aria-describedby", hintId);
    parts.push(h("small", { id: hintId, class: "hint", text: hint }));
  }
  return h("div", { class: "field" }, parts);
}

export function errorText(err) {
  const texts = {
    network_error: "Tidak ada koneksi. Coba lagi sebentar lagi.",
    registration_required: "Untuk ini kamu perlu mendaftar dulu (nomor HP atau Google).",
    free_trial_unavailable: "Sesi gratis tidak tersedia untukmu.",
    conflict: "Kamu masih punya permintaan atau sesi yang berjalan.",
    client_blocked: "Akunmu tidak dapat memulai sesi. Hubungi tim kami.",
    mitra_not_registered: "Nomor ini belum terdaftar sebagai mitra.",
    account_deactivated: "Akun ini tidak aktif.",
    early_end_not_allowed: "Sesi tidak dapat diakhiri lebih awal.",
    already_taken: "Permintaan ini sudah diambil mitra lain.",
    capacity_reached: "Kamu sudah memegang jumlah sesi maksimum.",
    throttled: "Terlalu cepat. Tunggu sebentar lalu coba lagi.",
    invalid_state: "Tidak bisa dilakukan pada keadaan sesi saat ini.",
    permission_denied: "Akun ini tidak dapat digunakan di sini.",
  };
  return texts[err && err.code] || (err && err.message) || "Terjadi kesalahan.";
}

// The backend's clock: apps display `ends_at`, they never keep their own timer. The offset
// between the server's clock and ours comes from `server_time` in every session shape.
export const serverClock = {
  offsetMs: 0,
  learn(serverTimeIso) {
    if (serverTimeIso) this.offsetMs = Date.parse(serverTimeIso) - Date.now();
  },
  now() { return Date.now() + this.offsetMs; },
  secondsUntil(iso) { return iso ? Math.max(0, Math.round((Date.parse(iso) - this.now()) / 1000)) : 0; },
};

export function mmss(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  const m = Math.floor(s / 60);
  return `${String(m).padStart(2, "0")}:${String(s % 60).padStart(2, "0")}`;
}

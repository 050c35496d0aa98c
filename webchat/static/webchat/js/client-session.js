// What the client sees around the conversation: paying, extending, ending early, and after
// the end: feedback, block, report.
import { alertBox, announce, errorText, field, h, mmss, rupiah, serverClock } from "./ui.js";

const EXTENSION_TEXT = {
  requested: "Permintaan perpanjangan terkirim. Menunggu jawaban mitra…",
  rejected: "Mitra tidak dapat memperpanjang sesi kali ini.",
  expired: "Permintaan perpanjangan kedaluwarsa.",
  cancelled: "Perpanjangan dibatalkan.",
  applied: "Sesi diperpanjang.",
};

function payLink(payment, text) {
  if (!payment.invoice_url) return h("p", { class: "muted", "data-testid": "invoice-pending", text: "Menyiapkan tagihan…" });
  return h("a", { class: "button primary", href: payment.invoice_url, target: "_blank", rel: "noopener noreferrer",
    "data-testid": "pay-link", text });
}

function keepInvoice(previous, next) {
  if (!previous || previous.id !== next.id) return next;
  const rank = { requested: 0, accepted: 1, rejected: 2, expired: 2, cancelled: 2, applied: 3 };
  let merged = rank[next.state] < rank[previous.state] ? { ...next, state: previous.state } : { ...next };
  const old = previous.payment;
  if (old && merged.payment && old.id === merged.payment.id && old.invoice_url && !merged.payment.invoice_url) {
    merged = { ...merged, payment: { ...merged.payment, invoice_url: old.invoice_url } };
  } else if (old && !merged.payment) {
    merged = { ...merged, payment: old };
  }
  return merged;
}

export function clientSessionExtras({ panel, state, onEnded, onRegister }) {
  let lastExtension = null;

  function extensionNotice(ext) {
    if (!ext) return panel.notice("extension", null);
    if (ext.state === "accepted" && ext.payment && ext.payment.status === "paid") {
      return panel.notice("extension", "Pembayaran perpanjangan diterima…", { testid: "extension" });
    }
    if (ext.state === "accepted" && ext.payment && ext.payment.status === "pending") {
      return panel.notice("extension", [h("p", { text: `Mitra setuju. Bayar ${rupiah(ext.payment.amount)} untuk ${ext.tier.minutes} menit lagi.` }),
        payLink(ext.payment, "Bayar perpanjangan")], { testid: "extension" });
    }
    return panel.notice("extension", EXTENSION_TEXT[ext.state] || null, { testid: "extension" });
  }

  function actions(session) {
    const live = ["active", "closing"].includes(session.state);
    const buttons = [];
    const tiers = (state.pricing && state.pricing.extension_tiers) || [];
    if (live && !session.pending_extension && tiers.length) {
      buttons.push(h("button", { type: "button", class: "secondary", text: "Perpanjang waktu", "data-testid": "extend",
        onclick: () => extensionForm(tiers) }));
    }
    if (session.can_end_early) {
      buttons.push(h("button", { type: "button", class: "danger", text: "Akhiri sesi", "data-testid": "end-session",
        onclick: () => confirmEnd() }));
    }
    panel.actions.replaceChildren(...buttons);
  }

  function extensionForm(tiers) {
    if (state.me.is_anonymous) { alertBox(errorText({ code: "registration_required" })); onRegister(); return; }
    const radios = tiers.map((t, i) => h("label", { class: "choice" }, h("input", { type: "radio", name: "ext", value: t.id, checked: i === 0 }),
      h("span", { class: "choice-label", text: `${t.minutes} menit` }), h("span", { class: "price", text: rupiah(t.price) })));
    const form = h("form", { class: "stack", onsubmit: async (event) => {
      event.preventDefault();
      const tierId = form.querySelector("input[name=ext]:checked").value;
      try {
        lastExtension = await state.api.post(`sessions/${panel.session.id}/extensions`, { tier_id: tierId });
        extensionNotice(lastExtension);
        panel.setSession(await state.api.get(`sessions/${panel.session.id}`));
      } catch (err) {
        alertBox(errorText(err));
        if (err.code === "registration_required") onRegister();
      }
    } }, h("fieldset", {}, h("legend", { text: "Tambah waktu" }), radios),
    h("button", { type: "submit", class: "primary", text: "Minta perpanjangan" }));
    panel.notice("extension", form, { testid: "extension" });
    form.querySelector("input").focus();
  }

  function confirmEnd() {
    const dialog = h("dialog", { class: "dialog", "aria-labelledby": "end-title" },
      h("h2", { id: "end-title", text: "Akhiri sesi sekarang?" }),
      h("p", { text: "Sisa waktumu tidak dapat dipakai lagi." }),
      h("div", { class: "row" },
        h("button", { type: "button", class: "secondary", text: "Batal", onclick: () => dialog.close() }),
        h("button", { type: "button", class: "danger", text: "Ya, akhiri", "data-testid": "confirm-end", onclick: async () => {
          dialog.close();
          try { panel.setSession(await state.api.post(`sessions/${panel.session.id}/end`, { reason: "client_request" })); } catch (err) { alertBox(errorText(err)); }
        } })));
    dialog.addEventListener("close", () => dialog.remove());
    document.body.append(dialog);
    dialog.showModal();
  }

  let invoiceRetry = null;
  // An invoice still being made: ask again shortly (its payment.updated may be missed).
  function awaitInvoice(payment) {
    if (!payment || payment.invoice_url || invoiceRetry) return;
    invoiceRetry = setTimeout(async () => {
      invoiceRetry = null;
      try { panel.setSession(await state.api.get(`sessions/${panel.session.id}`)); } catch (err) { /* later */ }
    }, 2000);
  }

  return {
    session(session) {
      if (session.state === "awaiting_payment") awaitInvoice(session.payment);
      if (session.pending_extension && session.pending_extension.state === "accepted") awaitInvoice(session.pending_extension.payment);
      if (session.state === "awaiting_payment" && session.payment) {
        const p = session.payment;
        panel.notice("payment", [h("p", { text: `Mitra sudah siap. Selesaikan pembayaran ${rupiah(p.amount)} untuk memulai.` }),
          p.status === "pending" ? payLink(p, "Bayar sekarang") : h("p", { text: `Status pembayaran: ${p.status}` })], { testid: "payment" });
      } else {
        panel.notice("payment", null);
      }
      if (session.pending_extension) {
        lastExtension = keepInvoice(lastExtension, session.pending_extension);
        extensionNotice(lastExtension);
      }
      else if (lastExtension && ["requested", "accepted"].includes(lastExtension.state)) extensionNotice(null);
      if (session.state === "closing") {
        panel.notice("ending", `Waktu sesi habis. Kamu masih bisa berpamitan selama ${mmss(serverClock.secondsUntil(session.closing_ends_at))}, atau memperpanjang.`, { urgent: true });
      } else if (session.state === "active" && panel.notices.querySelector('[data-key="ending"]') && serverClock.secondsUntil(session.ends_at) > 330) {
        panel.notice("ending", null);
      }
      actions(session);
      if (["closed", "cancelled"].includes(session.state)) onEnded();
    },
    event(type, data) {
      if (type === "extension.updated") {
        // Events may arrive out of order (the invoice can be made before the accept's own
        // event leaves): an invoice URL once known stays known.
        lastExtension = keepInvoice(lastExtension, data);
        extensionNotice(lastExtension);
        if (lastExtension.state === "accepted") awaitInvoice(lastExtension.payment);
        if (data.state === "applied") announce("Sesi diperpanjang.");
      } else if (type === "payment.updated") {
        // The invoice is made after the match (or the extension's accept): its URL comes here.
        const { session_id: _sid, ...payment } = data;
        const s = panel.session;
        if (s.payment && s.payment.id === payment.id) {
          panel.setSession({ ...s, payment });
        } else if (lastExtension && lastExtension.payment && lastExtension.payment.id === payment.id) {
          lastExtension = { ...lastExtension, payment };
          extensionNotice(lastExtension);
        } else if (s.pending_extension && s.pending_extension.payment && s.pending_extension.payment.id === payment.id) {
          lastExtension = { ...s.pending_extension, payment };
          extensionNotice(lastExtension);
        }
        if (payment.status === "paid") announce("Pembayaran diterima.");
      }
    },
    refresh() { actions(panel.session); },
  };
}

export function endedView({ state, session, compact = false, onHome }) {
  const box = h("section", { class: "card ended", "aria-labelledby": "ended-title", "data-testid": "ended" });
  const closure = session.closure || {};
  const why = { time_up: "Waktu sesi habis.", early_end: "Sesi diakhiri lebih awal.", payment_timeout: "Pembayaran tidak selesai tepat waktu.",
    staff: "Sesi diakhiri oleh tim kami.", mitra_no_show: "Mitra tidak hadir; pembayaranmu akan dikembalikan." }[closure.reason] || "";
  const parts = [h("h2", { id: "ended-title", text: compact ? "Tindakan" : "Sesi berakhir" })];
  if (!compact) parts.push(h("p", { text: `Terima kasih sudah bercerita. ${why}` }));
  if (session.state === "closed") parts.push(feedbackForm(state, session));
  parts.push(h("div", { class: "row wrap" },
    h("button", { type: "button", class: "secondary", text: "Blokir mitra ini", "data-testid": "block", onclick: async (event) => {
      try {
        await state.api.post(`sessions/${session.id}/block-mitra`);
        event.target.replaceWith(h("p", { role: "status", text: "Mitra ini tidak akan dipasangkan denganmu lagi." }));
      } catch (err) { alertBox(errorText(err)); }
    } }),
    h("button", { type: "button", class: "secondary", text: "Laporkan", "data-testid": "report", onclick: (event) => {
      event.target.replaceWith(reportForm(state, session));
    } }),
    compact ? null : h("button", { type: "button", class: "secondary", text: "Lihat transkrip", onclick: async () => {
      const t = await state.api.get(`sessions/${session.id}/transcript`);
      box.append(h("p", { role: "status", text: `Transkrip: ${t.messages.length} pesan (lihat di Riwayat).` }));
    } }),
    h("button", { type: "button", class: "primary", text: compact ? "Kembali" : "Ke beranda", onclick: onHome })));
  box.append(...parts);
  return box;
}

function feedbackForm(state, session) {
  const stars = [1, 2, 3, 4, 5].map((n) => h("label", { class: "star" },
    h("input", { type: "radio", name: `rating-${session.id}`, value: String(n), required: true }), h("span", { text: `${n}` })));
  const comment = h("textarea", { name: "comment", maxlength: "1000", rows: "2", "data-testid": "feedback-comment" });
  const form = h("form", { class: "stack", "data-testid": "feedback", onsubmit: async (event) => {
    event.preventDefault();
    const rating = form.querySelector("input[type=radio]:checked");
    try {
      await state.api.post(`sessions/${session.id}/feedback`, { rating: Number(rating.value), comment: comment.value.trim() });
      form.replaceWith(h("p", { role: "status", "data-testid": "feedback-thanks", text: "Terima kasih atas ulasanmu." }));
    } catch (err) {
      if (err.status === 409) form.replaceWith(h("p", { role: "status", text: "Kamu sudah memberi ulasan untuk sesi ini." }));
      else alertBox(errorText(err));
    }
  } },
  h("fieldset", { class: "stars" }, h("legend", { text: "Seberapa membantu sesi ini? (1–5)" }), stars),
  field("Komentar (opsional)", comment),
  h("button", { type: "submit", class: "primary", text: "Kirim ulasan" }));
  return form;
}

function reportForm(state, session) {
  const reasons = { inappropriate: "Perilaku tidak pantas", unprofessional: "Tidak profesional", no_response: "Mitra tidak merespons",
    safety: "Masalah keamanan", billing: "Masalah pembayaran", other: "Lainnya" };
  const select = h("select", { name: "reason", required: true }, Object.entries(reasons).map(([v, t]) => h("option", { value: v, text: t })));
  const note = h("textarea", { name: "note", maxlength: "1000", rows: "2" });
  const form = h("form", { class: "stack", "data-testid": "report-form", onsubmit: async (event) => {
    event.preventDefault();
    try {
      await state.api.post(`sessions/${session.id}/report`, { reason: select.value, note: note.value.trim() });
      form.replaceWith(h("p", { role: "status", text: "Laporanmu sudah kami terima. Terima kasih." }));
    } catch (err) { alertBox(errorText(err)); }
  } }, field("Alasan", select), field("Ceritakan singkat (opsional)", note), h("button", { type: "submit", class: "primary", text: "Kirim laporan" }));
  return form;
}

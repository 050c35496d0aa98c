// Sign-in forms shared by both pages: phone OTP (both) and Google (clients). `link: true`
// links the credential to the current anonymous user (registering it; same UID).
import { errorText, field, h } from "./ui.js";

export function phoneForm({ auth, link = false, submitText = "Masuk", onDone, onError }) {
  const phone = h("input", { type: "tel", name: "phone", autocomplete: "tel", inputmode: "tel", required: true,
    placeholder: "+62812…", "data-testid": "phone" });
  const code = h("input", { type: "text", name: "code", autocomplete: "one-time-code", inputmode: "numeric",
    pattern: "[0-9]{6}", maxlength: "6", "data-testid": "otp" });
  const codeField = field("Kode OTP (6 angka)", code, auth.mode === "dev" ? "Mode pengembangan: kode 6 angka apa saja." : "Kode dikirim lewat SMS.");
  codeField.hidden = true;
  const button = h("button", { type: "submit", class: "primary", text: "Kirim kode" });
  let pending = null;
  const form = h("form", { class: "stack", onsubmit: async (event) => {
    event.preventDefault();
    button.disabled = true;
    try {
      if (!pending) {
        const normalised = phone.value.replace(/[\s-]/g, "").replace(/^0/, "+62");
        pending = await auth.startPhone(normalised, { link });
        codeField.hidden = false;
        code.required = true;
        button.textContent = submitText;
        code.focus();
      } else {
        await pending.confirm(code.value.trim());
        await onDone();
      }
    } catch (err) {
      onError(errorText(err));
    } finally {
      button.disabled = false;
    }
  } }, field("Nomor HP", phone, "Contoh: +6281234567890 atau 081234567890"), codeField, button);
  return form;
}

export function googleForm({ auth, link = false, text = "Masuk dengan Google", onDone, onError }) {
  const email = h("input", { type: "email", name: "email", autocomplete: "email", required: true, "data-testid": "google-email" });
  const button = h("button", { type: "submit", class: "secondary", text });
  const parts = auth.googleNeedsEmail ? [field("Email Google (mode pengembangan)", email), button] : [button];
  return h("form", { class: "stack", onsubmit: async (event) => {
    event.preventDefault();
    button.disabled = true;
    try {
      await auth.signInWithGoogle({ link, email: email.value.trim() });
      await onDone();
    } catch (err) {
      onError(errorText(err));
    } finally {
      button.disabled = false;
    }
  } }, ...parts);
}

// Development-only sign-in (served only while WEBCHAT_DEV_SIGN_IN is on, which production
// refuses): mints the unsigned ID tokens of the Firebase Auth Emulator in memory, exactly
// what `manage.py mint_token` prints. The backend accepts them only in emulator mode, which
// production refuses too. Nothing is stored: a reload is a new anonymous user.

const LIFETIME = 3600;

function b64url(obj) {
  const bytes = new TextEncoder().encode(JSON.stringify(obj));
  let text = "";
  for (const b of bytes) text += String.fromCharCode(b);
  return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function randomUid() {
  const bytes = crypto.getRandomValues(new Uint8Array(14));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

export function createAuth(config) {
  let user = null; // {uid, provider, phone, email}
  let token = null;
  let expiresAt = 0;

  function mint() {
    const now = Math.floor(Date.now() / 1000);
    const identities = {};
    if (user.phone) identities.phone = [user.phone];
    if (user.email) identities.email = [user.email];
    const payload = {
      iss: `https://securetoken.google.com/${config.project_id}`, aud: config.project_id,
      auth_time: now, user_id: user.uid, sub: user.uid, iat: now, exp: now + LIFETIME,
      firebase: { identities, sign_in_provider: user.provider },
    };
    if (user.phone) payload.phone_number = user.phone;
    if (user.email) payload.email = user.email;
    token = `${b64url({ alg: "none", typ: "JWT" })}.${b64url(payload)}.`;
    expiresAt = now + LIFETIME;
    return token;
  }

  // Linking keeps the UID (as Firebase does), so the client row and its history carry on.
  function become(next, link) {
    user = link && user ? { ...user, ...next, uid: user.uid } : next;
    mint();
    return { uid: user.uid, provider: user.provider };
  }

  return {
    mode: "dev",
    googleNeedsEmail: true,
    async signInAnonymously() { return become({ uid: randomUid(), provider: "anonymous" }, false); },
    async startPhone(phone, { link = false } = {}) {
      return {
        async confirm(code) {
          if (!/^\d{6}$/.test(code)) throw Object.assign(new Error("Kode harus 6 angka."), { code: "invalid_code" });
          return become({ uid: `phone-${phone.replace(/\D/g, "")}`, provider: "phone", phone }, link);
        },
      };
    },
    async signInWithGoogle({ link = false, email = "" } = {}) {
      if (!/^[^@\s]+@[^@\s]+$/.test(email)) throw Object.assign(new Error("Email tidak valid."), { code: "invalid_email" });
      const uid = `google-${email.toLowerCase().replace(/[^a-z0-9]/g, "-")}`.slice(0, 60);
      return become({ uid, provider: "google.com", email }, link);
    },
    async getToken(force = false) {
      if (!user) return null;
      if (force || !token || expiresAt - Date.now() / 1000 < 300) mint();
      return token;
    },
    current() { return user ? { uid: user.uid, provider: user.provider, anonymous: user.provider === "anonymous" } : null; },
    async signOut() { user = null; token = null; expiresAt = 0; },
  };
}

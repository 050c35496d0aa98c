// Production sign-in: the Firebase Web SDK (vendored, served by us; see
// vendor/firebase/README.md). Persistence is in memory only: nothing about the user is
// written to IndexedDB or localStorage, so closing the tab signs out.
import { initializeApp } from "../vendor/firebase/firebase-app.js";
import {
  GoogleAuthProvider, RecaptchaVerifier, browserPopupRedirectResolver, inMemoryPersistence, initializeAuth,
  linkWithPhoneNumber, linkWithPopup, signInAnonymously, signInWithPhoneNumber, signInWithPopup, signOut,
} from "../vendor/firebase/firebase-auth.js";

export function createAuth(config) {
  const app = initializeApp(config.firebase);
  const auth = initializeAuth(app, { persistence: inMemoryPersistence, popupRedirectResolver: browserPopupRedirectResolver });
  auth.languageCode = "id";
  let verifier = null;

  function recaptcha() {
    if (!verifier) {
      let holder = document.getElementById("recaptcha");
      if (!holder) {
        holder = document.createElement("div");
        holder.id = "recaptcha";
        document.body.append(holder);
      }
      verifier = new RecaptchaVerifier(auth, holder, { size: "invisible" });
    }
    return verifier;
  }

  function describe(user) {
    const provider = user.isAnonymous ? "anonymous" : (user.providerData[0] && user.providerData[0].providerId) || "";
    return { uid: user.uid, provider, anonymous: user.isAnonymous };
  }

  return {
    mode: "firebase",
    googleNeedsEmail: false,
    async signInAnonymously() { return describe((await signInAnonymously(auth)).user); },
    async startPhone(phone, { link = false } = {}) {
      const result = link && auth.currentUser
        ? await linkWithPhoneNumber(auth.currentUser, phone, recaptcha())
        : await signInWithPhoneNumber(auth, phone, recaptcha());
      return { async confirm(code) { return describe((await result.confirm(code)).user); } };
    },
    async signInWithGoogle({ link = false } = {}) {
      const provider = new GoogleAuthProvider();
      const result = link && auth.currentUser ? await linkWithPopup(auth.currentUser, provider)
        : await signInWithPopup(auth, provider);
      return describe(result.user);
    },
    async getToken(force = false) { return auth.currentUser ? auth.currentUser.getIdToken(force) : null; },
    current() { return auth.currentUser ? describe(auth.currentUser) : null; },
    async signOut() { await signOut(auth); },
  };
}

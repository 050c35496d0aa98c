// The quick exit: one tap (or Escape twice) wipes what this tab holds and replaces the
// page *and its history entry* with a harmless page of ours (which also sends
// Clear-Site-Data). The app never pushes history entries, so Back does not return here.
import { config } from "./config.js";

const cleanups = [];

export function onExit(fn) { cleanups.push(fn); }

export function quickExit() {
  for (const fn of cleanups) { try { fn(); } catch (err) { /* leaving anyway */ } }
  document.body.replaceChildren();
  document.title = "";
  location.replace(config.exit_url || "/bacaan/merawat-tanaman/");
}

export function installQuickExit() {
  const button = document.getElementById("quick-exit");
  if (button) button.addEventListener("click", quickExit);
  let lastEscape = 0;
  document.addEventListener("keydown", (event) => {
    if (event.key !== "Escape") return;
    const now = Date.now();
    if (now - lastEscape < 800) quickExit();
    lastEscape = now;
  });
}

// Picks the sign-in the server configured; both give the same interface.
export async function loadAuth(config) {
  const module = config.auth === "dev" ? await import("./auth-dev.js") : await import("./auth-firebase.js");
  return module.createAuth(config);
}

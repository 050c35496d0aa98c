// The page's settings, from <meta name="webchat-config"> (our CSP allows no inline script).
const meta = document.querySelector('meta[name="webchat-config"]');
export const config = JSON.parse(meta ? meta.content : "{}");

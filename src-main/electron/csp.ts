// The desktop app's Content Security Policy (main.ts sends it with every response of the app:// scheme and on
// every other response through session.webRequest): only its own origin; no inline or eval'd scripts; no inline
// <style> or style attributes in markup (React sets styles through the CSSOM, which the CSP allows); no network
// but its own origin; no plugins, frames, forms or <base>.
// test/electron/csp.test.ts runs the built UI under it in headless Chromium.
export const CSP = [
  "default-src 'self'", "script-src 'self'", "style-src 'self'", "img-src 'self' data: blob:",
  "font-src 'self' data:", "connect-src 'self'", "worker-src 'self' blob:", "object-src 'none'", "base-uri 'none'",
  "frame-src 'none'", "frame-ancestors 'none'", "form-action 'none'",
].join("; ");

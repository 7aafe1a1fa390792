// Preloaded with `node -r ./bearer.js`: adds the skuflow API key to every fetch the
// unchanged connector makes (the hosted sandbox needed none; skuflow always does).
// Paths, methods and bodies are the connector's own.
const key = process.env.SKUFLOW_API_KEY;
const original = globalThis.fetch;
globalThis.fetch = (url, init = {}) => {
  const headers = new Headers(init.headers || {});
  headers.set('Authorization', `Bearer ${key}`);
  return original(url, { ...init, headers });
};

/* The emolens service worker (served as /sw.js, with VERSION and PRECACHE put in front by web/routers/pwa.py).
   Pages: network first, the last copy when offline. Static files, the vendored runtime and the models:
   from the cache first (the models and the WASM build are cached the first time a page runs on this
   device). Nothing else is touched: API calls and every POST go straight to the network. */
"use strict";
const CACHE = `emolens-${VERSION}`;
const PAGES = new Set(["/", "/live", "/video", "/journal", "/sessions/counter"]);

self.addEventListener("install", (ev) => {
  ev.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(PRECACHE)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (ev) => {
  const old = (keys) => keys.filter((k) => k.startsWith("emolens-") && k !== CACHE);
  ev.waitUntil(caches.keys().then((keys) => Promise.all(old(keys).map((k) => caches.delete(k)))).then(() => self.clients.claim()));
});

self.addEventListener("fetch", (ev) => {
  const req = ev.request, url = new URL(req.url);
  if (url.origin !== location.origin) return;
  if (req.method === "POST" && url.pathname === "/logout") { ev.waitUntil(forgetPages()); return; }
  if (req.method !== "GET") return;
  if (url.pathname.startsWith("/static/") || url.pathname.startsWith("/vendor/")) ev.respondWith(cacheFirst(req, true));
  else if (url.pathname.startsWith("/api/v1/ondevice/")) ev.respondWith(cacheFirst(req, false));
  else if ((req.mode === "navigate" && PAGES.has(url.pathname)) || url.pathname === "/api/v1/ondevice") ev.respondWith(networkFirst(req));
});

/* Static files carry ?v=<version> in pages (the cache's name has the version): matched without it. A model's
   URL names its sha256, so a new model is a new entry; the old one is dropped. */
async function cacheFirst(req, ignoreSearch) {
  const cache = await caches.open(CACHE);
  const hit = await cache.match(req, { ignoreSearch });
  if (hit) return hit;
  const res = await fetch(req);
  if (res.ok && res.status === 200) {
    const path = new URL(req.url).pathname;
    for (const key of await cache.keys()) if (new URL(key.url).pathname === path) await cache.delete(key);
    await cache.put(req, res.clone());
  }
  return res;
}

async function networkFirst(req) {
  const cache = await caches.open(CACHE);
  try {
    const res = await fetch(req);
    if (res.ok && !res.redirected) await cache.put(req, res.clone());
    return res;
  } catch (err) {
    const hit = await cache.match(req, { ignoreSearch: true });
    if (hit) return hit;
    throw err;
  }
}

/* Signing out drops the cached pages (they name the user). */
async function forgetPages() {
  const cache = await caches.open(CACHE);
  for (const key of await cache.keys()) if (PAGES.has(new URL(key.url).pathname)) await cache.delete(key);
}

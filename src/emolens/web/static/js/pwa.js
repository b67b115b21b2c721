/* Installable web app: register the service worker (/sw.js), which keeps the pages, the models and the
   WASM runtime for offline use. Browsers without service workers (or on plain http:// other than
   localhost) simply run online. */
"use strict";
if ("serviceWorker" in navigator) {
  window.addEventListener("load", () => {
    navigator.serviceWorker.register("/sw.js").catch((err) => console.warn("emolens: no offline support:", err));
  });
}

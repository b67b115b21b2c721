/* Where camera frames are read, as the page's radio buttons say (templates/_where.html): "server" or "device".
   The choice is remembered in this browser; a server that accepts no frames offers "device" only.
   EmolensDevice.where() -> the choice; EmolensDevice.engine(progress) -> the one engine of this page. */
"use strict";
(function () {
  const D = (window.EmolensDevice = window.EmolensDevice || {});
  const KEY = "emolens.where";
  const TEXT = {
    server: "Analysis runs on the server: frames are sent to it one at a time and never stored.",
    device: "Analysis runs on this device: frames stay in this browser; only the results are used.",
  };
  let engine = null;

  const radios = () => [...document.querySelectorAll("input[name=where]")];

  function where() {
    const checked = radios().find((r) => r.checked);
    return checked ? checked.value : "server";
  }

  function show() {
    const now = document.getElementById("where-now");
    if (!now) return;
    now.dataset.where = where();
    if (!now.dataset.forced) now.textContent = TEXT[where()];
  }

  function setup() {
    const forced = radios().some((r) => r.value === "server" && r.disabled);
    const now = document.getElementById("where-now");
    if (forced && now) now.dataset.forced = "1";
    const saved = localStorage.getItem(KEY);
    const pick = radios().find((r) => r.value === saved && !r.disabled);
    if (pick && !forced) pick.checked = true;
    radios().forEach((r) => r.addEventListener("change", () => { localStorage.setItem(KEY, where()); show(); }));
    show();
  }

  /* The page's engine, loaded on first use (the download is cached by the service worker). */
  function getEngine(progress) {
    if (!engine) engine = D.load(progress).catch((err) => { engine = null; throw err; });
    return engine;
  }

  /* Lock the choice while a camera runs. */
  function lock(on) {
    const now = document.getElementById("where-now"), forced = !!(now && now.dataset.forced);
    radios().forEach((r) => { r.disabled = on || (forced && r.value === "server"); });
  }

  Object.assign(D, { where, engine: getEngine, lockWhere: lock });
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", setup);
  else setup();
})();

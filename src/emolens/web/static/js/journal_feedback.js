/* Mood journal page, what your corrections teach: the personal adaptation (status, on/off, reset) and the face
   crops you contributed (list, withdraw). journal.js calls showAdaptation / showContributions after each change. */
"use strict";
(function () {
  const { setStatus, errorMessage } = window.Emolens;
  const $ = (id) => document.getElementById(id);
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const API = "/api/v1/journal";
  const pct = (v) => `${Math.round(v * 100)}%`;

  async function api(path, options = {}) {
    const headers = { "X-CSRF-Token": csrf, ...(options.headers || {}) };
    const r = await fetch(API + path, { credentials: "same-origin", ...options, headers });
    if (r.status === 401) { location.href = "/login?next=/journal"; throw new Error("signed out"); }
    if (!r.ok) throw new Error(await errorMessage(r));
    return r.status === 204 ? null : r.json();
  }

  function adaptationText(a) {
    const state = a.enabled ? "On" : "Off";
    if (!a.corrections) return `${state}. No corrections yet: your readings are the model's own.`;
    let text = `${state}. It rests on ${a.corrections} correction${a.corrections === 1 ? "" : "s"}.`;
    const e = a.evaluation;
    if (e) {
      text += ` On your corrected check-ins, each predicted by an adaptation fitted without it: ${pct(e.before)} ` +
        `right before, ${pct(e.after)} after.`;
    }
    if (!a.enabled) text += " Later check-ins are read as the model reads them.";
    return text;
  }

  function render(a) {
    $("adapt-state").textContent = adaptationText(a);
    $("adapt-enabled").checked = a.enabled;
    $("adapt-reset").disabled = !a.corrections;
  }

  async function showAdaptation() { render(await api("/adaptation")); }

  async function guarded(el, status, work) {
    el.disabled = true;
    try { await work(); } catch (err) { setStatus(status, err.message, true); } finally { el.disabled = false; }
  }

  $("adapt-enabled").addEventListener("change", (ev) => guarded(ev.currentTarget, $("adapt-status"), async () => {
    const a = await api("/adaptation", { method: "PUT", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ enabled: ev.target.checked }) });
    render(a);
    setStatus($("adapt-status"), a.enabled ? "Personal adaptation on." : "Personal adaptation off.");
  }));

  $("adapt-reset").addEventListener("click", (ev) => guarded(ev.currentTarget, $("adapt-status"), async () => {
    if (!confirm("Forget what your corrections taught? They stay in your journal.")) return;
    render(await api("/adaptation", { method: "DELETE" }));
    setStatus($("adapt-status"), "Reset: it starts again from your next correction.");
  }));

  function contribution(c) {
    const li = document.createElement("li");
    li.dataset.id = c.id;
    const img = document.createElement("img");
    img.src = `${API}/contributions/${c.id}/crop`;
    img.width = 48; img.height = 48;
    img.alt = `Contributed face crop of check-in ${c.checkin_id}`;
    const text = document.createElement("span");
    text.textContent = `check-in ${c.checkin_id}: ${c.label ? `labelled ${c.label}` : "not corrected yet (not used)"}`;
    const del = document.createElement("button");
    del.type = "button"; del.className = "button secondary"; del.textContent = "Withdraw";
    del.setAttribute("aria-label", `Withdraw contribution ${c.id}`);
    del.addEventListener("click", () => guarded(del, $("contrib-status"), async () => {
      await api(`/contributions/${c.id}`, { method: "DELETE" });
      await showContributions();
      setStatus($("contrib-status"), "Contribution withdrawn.");
    }));
    li.append(img, text, del);
    return li;
  }

  async function showContributions() {
    const found = await api("/contributions");
    $("contrib-state").textContent = found.length
      ? `${found.length} crop${found.length === 1 ? "" : "s"} (48×48 gray, never the photo) to improve the shared model.`
      : "None: you can contribute a check-in's face crop when you check in.";
    $("contrib-list").replaceChildren(...found.map(contribution));
    $("contrib-delete-all").hidden = !found.length;
  }

  $("contrib-delete-all").addEventListener("click", (ev) => guarded(ev.currentTarget, $("contrib-status"), async () => {
    const r = await api("/contributions", { method: "DELETE" });
    await showContributions();
    setStatus($("contrib-status"), `Withdrew ${r.deleted} contribution${r.deleted === 1 ? "" : "s"}.`);
  }));

  window.JournalFeedback = { showAdaptation, showContributions };
})();

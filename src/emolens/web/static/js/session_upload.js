/* Dashboard: analyse a recorded video as a service session.
   POST /api/v1/sessions -> upload to /api/v1/sessions/{id}/video (progress) -> poll the job -> open the session. */
"use strict";
(function () {
  const { setStatus, errorMessage } = window.Emolens;
  const $ = (id) => document.getElementById(id);
  const form = $("upload-form"), status = $("upload-status");
  const box = $("upload-progress"), bar = $("upload-bar"), barLabel = $("upload-label");
  if (!form) return;
  const meta = document.querySelector('meta[name="csrf-token"]');
  const csrf = meta ? meta.content : "";

  function progress(label, fraction) {
    box.hidden = false;
    barLabel.textContent = label;
    bar.value = Math.round(fraction * 100);
    bar.textContent = `${Math.round(fraction * 100)}%`;
  }

  async function createSession() {
    const body = { location: $("up-location").value.trim(), agent: $("up-agent").value.trim(),
                   customer_ref: $("up-ref").value.trim() || null };
    const r = await fetch("/api/v1/sessions", { method: "POST", body: JSON.stringify(body),
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf } });
    if (!r.ok) throw new Error(await errorMessage(r));
    return (await r.json()).id;
  }

  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const file = $("up-video").files[0];
    if (!file) { setStatus(status, "Choose a video file first.", true); return; }
    const button = form.querySelector("button");
    button.disabled = true;
    setStatus(status, "");
    try {
      const id = await createSession();
      const created = await window.EmolensJobs.upload(`/api/v1/sessions/${id}/video`, file, progress, csrf);
      progress("Waiting for the analyser…", 0);
      await window.EmolensJobs.poll(created.url, progress);
      progress("Done", 1);
      setStatus(status, "Scored: opening the session…");
      window.location.assign(`/sessions/${id}`);
    } catch (err) {
      box.hidden = true;
      setStatus(status, err.message, true);
      button.disabled = false;
    }
  });
})();

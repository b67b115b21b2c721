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

  function upload(id, file) {
    return new Promise((resolve, reject) => {
      const xhr = new XMLHttpRequest();
      xhr.open("POST", `/api/v1/sessions/${id}/video`);
      xhr.setRequestHeader("X-CSRF-Token", csrf);
      xhr.responseType = "json";
      xhr.upload.onprogress = (e) => { if (e.lengthComputable) progress(`Uploading ${file.name}…`, e.loaded / e.total); };
      xhr.onload = () => (xhr.status === 202 ? resolve(xhr.response)
        : reject(new Error((xhr.response && xhr.response.detail) || `The server answered ${xhr.status}.`)));
      xhr.onerror = () => reject(new Error("Could not reach the server: is it still running?"));
      const data = new FormData();
      data.append("video", file, file.name);
      xhr.send(data);
    });
  }

  async function poll(url) {
    for (;;) {
      const r = await fetch(url);
      const job = await r.json();
      if (!r.ok) throw new Error(job.detail || `The server answered ${r.status}.`);
      if (job.status === "done") return job;
      if (job.status === "failed" || job.status === "cancelled") throw new Error(job.error || `The job was ${job.status}.`);
      const total = job.frame_count ? ` of ${job.frame_count}` : "";
      progress(job.status === "queued" ? "Waiting for the analyser…" : `Analysing: frame ${job.frames_done}${total}`, job.progress);
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
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
      const created = await upload(id, file);
      progress("Waiting for the analyser…", 0);
      await poll(created.url);
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

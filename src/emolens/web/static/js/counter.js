/* Counter camera: a service session over the live camera loop of live.js (loaded after this file).
   Start creates the session (POST /api/v1/sessions) and streams to /api/v1/sessions/{id}/live;
   Stop sends "stop" and shows the score the server answers with. */
"use strict";
(function () {
  const { setStatus, errorMessage } = window.Emolens;
  const $ = (id) => document.getElementById(id);
  const status = $("status"), stage = $("stage"), view = $("view"), result = $("result");
  const fields = ["location", "agent", "customer-ref"].map($);
  const meta = document.querySelector('meta[name="csrf-token"]');
  const csrf = meta ? meta.content : "";
  let sessionId = null;

  function applyView() { stage.className = `stage live-stage view-${view.value}`; }
  view.addEventListener("change", applyView);
  applyView();

  function lock(locked) { fields.forEach((f) => { f.disabled = locked; }); }

  function showResult(s) {
    lock(false);
    result.hidden = false;
    const score = $("result-score");
    score.textContent = s.score == null ? "No score" : `${Math.round(s.score)}`;
    score.classList.toggle("none", s.score == null);
    $("result-confidence").textContent = s.confidence.toFixed(2);
    $("result-summary").textContent = s.summary;
    $("result-link").href = s.url;
    setStatus(status, s.score == null ? `Session ended without a score: ${s.reason}` : `Session scored ${Math.round(s.score)}/100.`);
  }

  window.EmolensLive = {
    socketPath: () => `/api/v1/sessions/${sessionId}/live`,
    async beforeStart() {
      if (!fields[0].reportValidity() || !fields[1].reportValidity()) return false;
      const body = { location: fields[0].value.trim(), agent: fields[1].value.trim(), customer_ref: fields[2].value.trim() || null };
      const r = await fetch("/api/v1/sessions", { method: "POST", body: JSON.stringify(body),
        headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf } });
      if (!r.ok) { setStatus(status, await errorMessage(r), true); return false; }
      sessionId = (await r.json()).id;
      result.hidden = true;
      lock(true);
      return true;
    },
    onMessage(msg) { if (msg.type === "done") showResult(msg.session); },
    onStop(ws) {
      setStatus(status, "Scoring the session…");
      ws.onclose = () => { if (result.hidden) { lock(false); setStatus(status, "The connection closed before the score arrived: see the dashboard.", true); } };
      ws.send("stop");
    },
  };
})();

/* Mood journal page: check in (camera frames, a photo, or a mood), calibrate, trends, entries, your data.
   Every change is sent with the session's CSRF token (X-CSRF-Token, from <meta name="csrf-token">).
   On this device (ondevice/where.js) the browser reads the frames itself and sends only the shares
   ("source": "device"); a check-in made offline waits in this browser and is sent when the network returns. */
"use strict";
(function () {
  const { color, setStatus, errorMessage } = window.Emolens;
  const $ = (id) => document.getElementById(id);
  const cfg = JSON.parse($("journal-config").textContent);
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const API = "/api/v1/journal";
  const tzOffset = () => -new Date().getTimezoneOffset(); // minutes east of UTC
  const status = $("status");
  const device = window.EmolensDevice;
  const onDevice = () => !!device && device.where() === "device";
  const QUEUE = "emolens.journal.queue"; // check-ins made offline: [{key, body}], sent with their Idempotency-Key
  let stream = null;

  async function api(path, options = {}) {
    const headers = { "X-CSRF-Token": csrf, ...(options.headers || {}) };
    const r = await fetch(API + path, { credentials: "same-origin", ...options, headers });
    if (r.status === 401) { location.href = "/login?next=/journal"; throw new Error("signed out"); }
    if (!r.ok) throw new Error(await errorMessage(r));
    return r.status === 204 ? null : r.json();
  }

  function cameraError(err) {
    const name = err && err.name;
    if (!navigator.mediaDevices) return "This browser offers no camera here: camera access needs https:// or http://localhost.";
    if (name === "NotAllowedError" || name === "SecurityError") return "Camera access was denied: allow it for this site, or use a photo or a mood.";
    if (name === "NotFoundError" || name === "OverconstrainedError") return "No camera was found: use a photo or pick a mood.";
    return `The camera could not be started (${name || err}).`;
  }

  async function camera() {
    if (stream) return stream;
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) throw new Error(cameraError(null));
    try {
      stream = await navigator.mediaDevices.getUserMedia({ video: { width: { ideal: 640 }, height: { ideal: 480 } }, audio: false });
    } catch (err) { throw new Error(cameraError(err)); }
    $("cam").srcObject = stream;
    await $("cam").play().catch(() => {});
    $("cam-caption").textContent = "Camera on: look at it and hold still";
    $("cam-caption").classList.add("on");
    return stream;
  }

  function stopCamera() {
    if (stream) stream.getTracks().forEach((t) => t.stop());
    stream = null;
    $("cam").srcObject = null;
    $("cam-caption").textContent = "Camera off";
    $("cam-caption").classList.remove("on");
  }

  /* n JPEG frames, `gap` ms apart, downscaled to 640 px: they travel in one request and are never stored. */
  async function grabFrames(n, gap, say) {
    await camera();
    const video = $("cam");
    for (let i = 0; i < 50 && !video.videoWidth; i++) await new Promise((r) => setTimeout(r, 100));
    const scale = Math.min(1, 640 / Math.max(video.videoWidth, video.videoHeight));
    const canvas = document.createElement("canvas");
    canvas.width = Math.round(video.videoWidth * scale);
    canvas.height = Math.round(video.videoHeight * scale);
    const frames = [];
    for (let i = 0; i < n; i++) {
      say(`Hold still… ${Math.ceil(((n - i) * gap) / 1000)} s`);
      canvas.getContext("2d").drawImage(video, 0, 0, canvas.width, canvas.height);
      frames.push(await new Promise((r) => canvas.toBlob(r, "image/jpeg", 0.85)));
      await new Promise((r) => setTimeout(r, gap));
    }
    stopCamera();
    return frames;
  }

  /* n frames read here, `gap` ms apart; the largest face of each, aggregated as apps/journal/readings.py does. */
  async function deviceReading(n, gap, say) {
    const engine = await device.engine(say);
    await camera();
    const video = $("cam");
    for (let i = 0; i < 50 && !video.videoWidth; i++) await new Promise((r) => setTimeout(r, 100));
    const scale = Math.min(1, 640 / Math.max(video.videoWidth, video.videoHeight));
    const canvas = document.createElement("canvas");
    canvas.width = Math.round(video.videoWidth * scale);
    canvas.height = Math.round(video.videoHeight * scale);
    const ctx = canvas.getContext("2d", { willReadFrequently: true }), frames = [];
    for (let i = 0; i < n; i++) {
      say(`Hold still… ${Math.ceil(((n - i) * gap) / 1000)} s (read on this device)`);
      ctx.drawImage(video, 0, 0, canvas.width, canvas.height);
      const t0 = performance.now();
      frames.push(await engine.analyze(ctx.getImageData(0, 0, canvas.width, canvas.height)));
      await new Promise((r) => setTimeout(r, Math.max(0, gap - (performance.now() - t0))));
    }
    stopCamera();
    return aggregate(frames);
  }

  function aggregate(frames) {
    const area = (f) => f.box.w * f.box.h;
    const chosen = frames.map((faces) => faces.reduce((a, f) => (!a || area(f) > area(a) ? f : a), null)).filter(Boolean);
    if (!chosen.length) throw new Error(`No face found in ${frames.length} frames: face the camera in good light, or check in by picking a mood.`);
    const mean = (get) => chosen.reduce((s, f) => s + get(f), 0) / chosen.length;
    const shares = Object.fromEntries(Object.keys(chosen[0].probabilities).map((k) => [k, mean((f) => f.probabilities[k])]));
    return { source: "device", shares, confidence: mean((f) => f.confidence), frames: chosen.length,
             total_frames: frames.length, most_faces: Math.max(...frames.map((f) => f.length)) };
  }

  const newKey = () => (crypto.randomUUID ? crypto.randomUUID() : `${Date.now()}-${Math.random().toString(36).slice(2)}`);

  /* A JSON check-in; when the network is down it waits in this browser (null) and goes out with the same key later. */
  async function postCheckin(body, key = newKey()) {
    const options = { method: "POST", headers: { "Content-Type": "application/json", "Idempotency-Key": key }, body: JSON.stringify(body) };
    try {
      return await api("/checkins", options);
    } catch (err) {
      if (!(err instanceof TypeError)) throw err; // an answer from the server: not a network failure
      const queue = JSON.parse(localStorage.getItem(QUEUE) || "[]");
      localStorage.setItem(QUEUE, JSON.stringify([...queue, { key, body }]));
      return null;
    }
  }

  async function sendQueued() {
    const queue = JSON.parse(localStorage.getItem(QUEUE) || "[]");
    if (!queue.length) return;
    localStorage.setItem(QUEUE, "[]");
    let sent = 0;
    for (const item of queue) {
      const done = await postCheckin(item.body, item.key).catch((err) => { setStatus(status, err.message, true); return undefined; });
      if (done) sent += 1;
    }
    if (sent) { await refresh(); setStatus(status, `Sent ${sent} check-in${sent === 1 ? "" : "s"} made offline.`); }
  }
  window.addEventListener("online", () => sendQueued());

  function queuedNote() {
    const n = JSON.parse(localStorage.getItem(QUEUE) || "[]").length;
    resetForm();
    setStatus(status, `You are offline: the check-in is kept in this browser and sent when the network returns (${n} waiting).`);
  }

  function checkinFields(form) {
    const tags = [...document.querySelectorAll('input[name="tag"]:checked')].map((c) => c.value);
    const more = $("more-tags").value.split(",").map((t) => t.trim()).filter(Boolean);
    form.append("note", $("note").value);
    form.append("tags", [...tags, ...more].join(","));
    form.append("tz_offset_minutes", String(tzOffset()));
    form.append("keep_image", $("keep-image").checked ? "true" : "false");
    form.append("contribute", $("contribute").checked ? "true" : "false");
    return form;
  }

  function resetForm() {
    $("note").value = "";
    $("more-tags").value = "";
    document.querySelectorAll('input[name="tag"]').forEach((c) => { c.checked = false; });
    $("keep-image").checked = false;
    $("contribute").checked = false; // consent is given per check-in
  }

  async function saved(checkin) {
    const how = { camera: "camera check-in", photo: "photo check-in", manual: "mood", device: "camera check-in (read on this device)" }[checkin.source];
    const conf = checkin.confidence == null ? "" : ` (confidence ${Math.round(checkin.confidence * 100)}%)`;
    const notice = checkin.notice ? ` ${checkin.notice[0].toUpperCase()}${checkin.notice.slice(1)}.` : "";
    resetForm();
    await refresh();
    setStatus(status, `Saved your ${how}: ${checkin.final_emotion}${conf}.${notice} It is the first entry under ` +
      "Recent check-ins, where you can correct it.");
    status.classList.add("saved");
    status.style.setProperty("--c", color(checkin.final_emotion));
    const entry = document.querySelector(`#entries .entry[data-id="${checkin.id}"]`);
    if (entry) entry.classList.add("new");
    status.scrollIntoView({ block: "nearest" });
  }

  async function run(button, work) {
    status.classList.remove("saved");
    button.disabled = true;
    try { await work(); } catch (err) { setStatus(status, err.message, true); stopCamera(); } finally { button.disabled = false; }
  }

  $("cam-checkin").addEventListener("click", (ev) => run(ev.currentTarget, async () => {
    if (onDevice()) {
      const reading = await deviceReading(8, 375, (t) => setStatus(status, t));
      const tags = checkinFields(new FormData()).get("tags").split(",").filter(Boolean);
      const checkin = await postCheckin({ ...reading, note: $("note").value, tags, tz_offset_minutes: tzOffset() });
      if (checkin) await saved(checkin); else queuedNote();
      return;
    }
    const frames = await grabFrames(8, 375, (t) => setStatus(status, t));
    setStatus(status, "Reading your expression…");
    const form = checkinFields(new FormData());
    frames.forEach((b, i) => form.append("frames", b, `frame${i}.jpg`));
    await saved(await api("/checkins", { method: "POST", body: form }));
  }));

  $("photo-input").addEventListener("change", (ev) => run(ev.currentTarget, async () => {
    const file = ev.target.files[0];
    if (!file) return;
    setStatus(status, `Reading ${file.name}…`);
    const form = checkinFields(new FormData());
    form.append("image", file);
    ev.target.value = "";
    await saved(await api("/checkins", { method: "POST", body: form }));
  }));

  document.querySelectorAll(".mood").forEach((b) => b.addEventListener("click", () => run(b, async () => {
    const tags = checkinFields(new FormData()).get("tags").split(",").filter(Boolean);
    const checkin = await postCheckin({ mood: b.dataset.mood, note: $("note").value, tags, tz_offset_minutes: tzOffset() });
    if (checkin) await saved(checkin); else queuedNote();
  })));

  /* Baseline */
  const baseStatus = $("baseline-status");
  async function showBaseline() {
    const b = await api("/baseline");
    $("forget-baseline").hidden = !b;
    $("baseline-warning").hidden = !(b && b.warning);
    if (b && b.warning) $("baseline-warning").textContent = `${b.warning[0].toUpperCase()}${b.warning.slice(1)}.`;
    if (!b) { $("baseline-state").textContent = "Not calibrated: readings are taken as they are."; return; }
    const top = Object.entries(b.probabilities).sort((a, c) => c[1] - a[1]).slice(0, 2)
      .map(([k, v]) => `${k} ${Math.round(v * 100)}%`).join(", ");
    $("baseline-state").textContent = `Calibrated ${b.created_at.slice(0, 10)} from ${b.frames} frames (resting face reads ${top}).`;
  }
  async function calibrate(form, button, headers = {}) {
    await run(button, async () => {
      setStatus(baseStatus, "Calibrating…");
      const b = await api("/baseline", { method: "POST", body: form, headers });
      const notice = b.notice ? ` (${b.notice}.)` : "";
      setStatus(baseStatus, b.warning ? `Saved, but please calibrate again: see the note above.${notice}`
        : `Calibrated. Later check-ins are read relative to your resting face.${notice}`);
      await showBaseline();
      await refresh();
    });
  }
  $("calibrate").addEventListener("click", async (ev) => {
    const button = ev.currentTarget;
    try {
      const say = (t) => setStatus(baseStatus, `Relax your face and look at the camera. ${t}`);
      if (onDevice()) {
        const reading = await deviceReading(10, 400, say);
        await calibrate(JSON.stringify(reading), button, { "Content-Type": "application/json" });
        return;
      }
      const frames = await grabFrames(10, 400, say);
      const form = new FormData();
      frames.forEach((f, i) => form.append("frames", f, `calib${i}.jpg`));
      await calibrate(form, button);
    } catch (err) { setStatus(baseStatus, err.message, true); }
  });
  $("calibrate-input").addEventListener("change", async (ev) => {
    const form = new FormData();
    [...ev.target.files].forEach((f) => form.append("frames", f));
    ev.target.value = "";
    await calibrate(form, ev.target);
  });
  $("forget-baseline").addEventListener("click", (ev) => run(ev.currentTarget, async () => {
    await api("/baseline", { method: "DELETE" });
    setStatus(baseStatus, "Baseline forgotten.");
    await showBaseline();
  }));

  /* Trends */
  function summaryText(s) {
    if (!s.checkins) return `No check-ins in the last ${s.days} days yet. Your first one starts the charts.`;
    const i = s.indexes;
    const top = Object.entries(s.shares).sort((a, b) => b[1] - a[1]).slice(0, 3).map(([k, v]) => `${k} ${Math.round(v * 100)}%`);
    return `${s.checkins} check-ins on ${s.days_with_checkins} of the last ${s.days} days. Happiness ${Math.round(i.happiness)}, ` +
      `sadness ${Math.round(i.sadness)}, stress ${Math.round(i.stress)} (of 100). Mostly ${top.join(", ")}. ` +
      `Streak: ${s.streak.current} day${s.streak.current === 1 ? "" : "s"} (longest ${s.streak.longest}).`;
  }

  function renderSuggestions(s) {
    const box = $("suggestions");
    box.replaceChildren();
    s.suggestions.forEach((sug) => {
      const card = document.createElement("article");
      card.className = `suggestion ${sug.kind}`;
      const h = document.createElement("h3"); h.textContent = sug.title;
      const p = document.createElement("p"); p.textContent = sug.text;
      const why = document.createElement("p"); why.className = "why"; why.textContent = `Because: ${sug.because}.`;
      card.append(h, p, why);
      box.append(card);
    });
    $("crisis").hidden = !s.crisis;
    if (s.crisis) {
      $("crisis-title").textContent = s.crisis.title;
      $("crisis-text").textContent = s.crisis.text;
      $("crisis-resources").replaceChildren(...s.crisis.resources.map((r) => { const li = document.createElement("li"); li.textContent = r; return li; }));
    }
    $("disclaimer").textContent = s.disclaimer;
  }

  /* Entries */
  function entry(c) {
    const li = document.createElement("li");
    li.className = "entry";
    li.style.setProperty("--c", color(c.final_emotion));
    li.dataset.id = c.id;
    const head = document.createElement("div");
    const title = document.createElement("strong");
    title.textContent = c.final_emotion + (c.corrected ? ` (corrected; read as ${c.emotion})` : "");
    const meta = document.createElement("div");
    meta.className = "meta";
    const how = { camera: "camera", photo: "photo", manual: "picked mood" }[c.source];
    const conf = c.confidence == null ? "" : ` · confidence ${Math.round(c.confidence * 100)}%`;
    meta.textContent = `${c.local_time.replace("T", " ").slice(0, 16)} · ${how}${conf}${c.adjusted ? " · relative to your baseline" : ""}${c.has_image ? " · photo kept" : ""}` +
      `${c.personal ? " · personally adapted" : ""}${c.contributed ? " · face crop contributed" : ""}`;
    head.append(title, meta);
    const actions = document.createElement("div");
    actions.className = "actions";
    const sel = document.createElement("select");
    sel.setAttribute("aria-label", `Correct check-in ${c.id}`);
    sel.add(new Option("correct…", ""));
    cfg.moods.forEach((m) => sel.add(new Option(m, m, false, c.corrected === m)));
    sel.addEventListener("change", () => run(sel, async () => {
      await api(`/checkins/${c.id}`, { method: "PATCH", headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ corrected: sel.value || null }) });
      await refresh();
      setStatus(status, sel.value ? `Corrected to ${sel.value}.` : "Correction removed.");
    }));
    const del = document.createElement("button");
    del.type = "button"; del.className = "button secondary"; del.textContent = "Delete";
    del.setAttribute("aria-label", `Delete check-in ${c.id}`);
    del.addEventListener("click", () => run(del, async () => {
      if (!confirm("Delete this check-in?")) return;
      await api(`/checkins/${c.id}`, { method: "DELETE" });
      await refresh();
      setStatus(status, "Check-in deleted.");
    }));
    actions.append(sel, del);
    li.append(head, actions);
    if (c.note || c.tags.length) {
      const p = document.createElement("p");
      p.className = "note";
      c.tags.forEach((t) => { const s = document.createElement("span"); s.className = "tag"; s.textContent = t; p.append(s); });
      p.append(document.createTextNode(c.note));
      li.append(p);
    }
    return li;
  }

  async function refresh() {
    const q = `?days=${$("days").value}&group=${$("group").value}&tz_offset_minutes=${tzOffset()}`;
    const [summary, checkins] = await Promise.all([api(`/summary${q}`), api("/checkins?limit=20")]);
    $("summary-text").textContent = summaryText(summary);
    renderSuggestions(summary);
    window.JournalCharts.render(summary, cfg.moods);
    $("entries").replaceChildren(...checkins.map(entry));
    if (!checkins.length) $("entries").innerHTML = '<li class="empty">No check-ins yet.</li>';
    await Promise.all([window.JournalFeedback.showAdaptation(), window.JournalFeedback.showContributions()]);
  }
  $("days").addEventListener("change", refresh);
  $("group").addEventListener("change", refresh);

  /* Your data */
  $("delete-account").addEventListener("click", (ev) => run(ev.currentTarget, async () => {
    if ($("confirm-name").value !== cfg.username) {
      setStatus($("delete-status"), "Type your username exactly to confirm.", true);
      return;
    }
    await api("/account", { method: "DELETE" });
    location.href = "/register";
  }));

  Promise.all([showBaseline(), refresh()]).then(() => (navigator.onLine ? sendQueued() : null))
    .catch((err) => setStatus(status, err instanceof TypeError ? "You are offline: check-ins are kept in this browser until the network returns." : err.message, true));
})();

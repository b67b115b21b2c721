/* Live camera: getUserMedia -> one JPEG frame at a time over WebSocket /api/v1/live -> overlay.
   A frame is sent only after the previous answer arrived: slow servers drop frames, never queue them.
   "On this device" (ondevice/where.js): the browser runs the models itself (ondevice/engine.js) and no
   frame is sent; a page with its own socket (hooks.socketPath) gets {"type": "faces", width, height, faces}
   text messages instead of frames (the counter's numbers).
   Pages that reuse this loop (the satisfaction counter) set, before this script, window.EmolensLive =
   { socketPath(): WebSocket path, beforeStart(): async, false cancels, onMessage(msg): other message
     types, onStop(ws): the still-open socket when the camera stops }. */
"use strict";
(function () {
  const { drawFaces, renderPanels, setStatus } = window.Emolens;
  const MAX_SIDE = 640; // frames are downscaled to this before sending
  const $ = (id) => document.getElementById(id);
  const video = $("video"), overlay = $("overlay"), status = $("status"), facesBox = $("faces");
  const startBtn = $("start"), stopBtn = $("stop"), fpsEl = $("fps"), msEl = $("ms");
  const grab = document.createElement("canvas");
  const hooks = window.EmolensLive || {};
  const device = window.EmolensDevice;
  let stream = null, ws = null, labels = null, busy = false, running = false, engine = null, onDevice = false;
  let fps = 0, last = 0;

  function cameraError(err) {
    const name = err && err.name;
    if (name === "NotAllowedError" || name === "SecurityError")
      return "Camera access was denied. Allow the camera for this site in your browser's settings, then press Start again.";
    if (name === "NotFoundError" || name === "OverconstrainedError" || name === "DevicesNotFoundError")
      return "No camera was found. Connect a camera and press Start again.";
    if (name === "NotReadableError" || name === "TrackStartError")
      return "The camera is in use by another program, or the system blocked it.";
    return `The camera could not be started (${name || err}).`;
  }

  async function start() {
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      setStatus(status, "This browser offers no camera here: camera access needs https:// or http://localhost (127.0.0.1).", true);
      return;
    }
    startBtn.disabled = true;
    setStatus(status, "Asking for the camera…");
    try {
      stream = await navigator.mediaDevices.getUserMedia({ video: { width: { ideal: 640 }, height: { ideal: 480 } }, audio: false });
    } catch (err) {
      setStatus(status, cameraError(err), true);
      startBtn.disabled = false;
      return;
    }
    video.srcObject = stream;
    await video.play().catch(() => {});
    if (hooks.beforeStart && !(await hooks.beforeStart())) { stop(); return; }
    running = true;
    stopBtn.disabled = false;
    onDevice = !!device && device.where() === "device";
    if ($("ms-where")) $("ms-where").textContent = onDevice ? "device" : "server";
    if (onDevice) startDevice();
    else connect();
  }

  /* On this device: load the engine once, then analyse frames here, one after another. */
  async function startDevice() {
    device.lockWhere(true);
    try {
      engine = await device.engine((text) => setStatus(status, text));
    } catch (err) {
      setStatus(status, `The models could not be loaded on this device (${err.message || err}).`, true);
      stop();
      return;
    }
    if (!running) return;
    engine.reset();
    labels = engine.card.labels;
    if (hooks.socketPath) connect(); // numbers go to the page's socket: deviceFrame starts on "ready"
    else deviceReady();
  }

  function deviceReady() {
    setStatus(status, `Camera on · model ${engine.card.name} · on this device`);
    last = performance.now();
    deviceFrame();
  }

  async function deviceFrame() {
    if (!running) return;
    const w = video.videoWidth, h = video.videoHeight;
    if (!w || !h) { setTimeout(deviceFrame, 100); return; }
    grabFrame(w, h);
    let msg;
    try {
      msg = await engine.process(grab.getContext("2d").getImageData(0, 0, grab.width, grab.height));
    } catch (err) {
      setStatus(status, `Analysis on this device failed (${err.message || err}).`, true);
      stop();
      return;
    }
    if (!running) return;
    showResult(msg);
    if (ws && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ type: "faces", width: msg.width, height: msg.height, faces: msg.faces }));
    requestAnimationFrame(deviceFrame);
  }

  function grabFrame(w, h) {
    const scale = Math.min(1, MAX_SIDE / Math.max(w, h));
    grab.width = Math.round(w * scale);
    grab.height = Math.round(h * scale);
    grab.getContext("2d", { willReadFrequently: true }).drawImage(video, 0, 0, grab.width, grab.height);
  }

  function connect() {
    const proto = location.protocol === "https:" ? "wss" : "ws";
    ws = new WebSocket(`${proto}://${location.host}${hooks.socketPath ? hooks.socketPath() : "/api/v1/live"}`);
    ws.onmessage = (ev) => onMessage(JSON.parse(ev.data));
    ws.onerror = () => setStatus(status, "The connection to the server failed.", true);
    ws.onclose = () => { if (running) { setStatus(status, "The server closed the connection; press Start to retry.", true); stop(); } };
  }

  function onMessage(msg) {
    if (msg.type === "ready" && onDevice) {
      deviceReady();
    } else if (msg.type === "ready") {
      labels = msg.labels;
      setStatus(status, `Camera on · model ${msg.model.name}`);
      last = performance.now();
      sendFrame();
    } else if (msg.type === "result") {
      if (!running) return; // an answer that arrived after Stop
      busy = false;
      showResult(msg);
      requestAnimationFrame(sendFrame);
    } else if (msg.type === "error") {
      busy = false;
      setStatus(status, msg.message, true);
      if (msg.fatal) { if (ws) { ws.onclose = null; ws.close(); ws = null; } stop(); }
      else if (!onDevice) setTimeout(sendFrame, 500);
    } else if (hooks.onMessage) {
      hooks.onMessage(msg);
    }
  }

  function showResult(msg) {
    const now = performance.now();
    const inst = 1000 / Math.max(1, now - last);
    last = now;
    fps = fps ? 0.8 * fps + 0.2 * inst : inst;
    fpsEl.textContent = fps.toFixed(1);
    msEl.textContent = Math.round(msg.ms);
    overlay.dataset.frames = String(Number(overlay.dataset.frames || 0) + 1);  // frames answered
    draw(msg);
  }

  function draw(msg) {
    overlay.width = video.videoWidth || msg.width;
    overlay.height = video.videoHeight || msg.height;
    const ctx = overlay.getContext("2d");
    ctx.clearRect(0, 0, overlay.width, overlay.height);
    drawFaces(ctx, msg.faces, msg.width, msg.height);
    renderPanels(facesBox, msg.faces, labels, "No face in view.");
  }

  function sendFrame() {
    if (!running || busy || !ws || ws.readyState !== WebSocket.OPEN) return;
    const w = video.videoWidth, h = video.videoHeight;
    if (!w || !h) { setTimeout(sendFrame, 100); return; }
    grabFrame(w, h);
    busy = true;
    grab.toBlob((blob) => {
      if (blob && ws && ws.readyState === WebSocket.OPEN) ws.send(blob);
      else busy = false;
    }, "image/jpeg", 0.8);
  }

  function stop() {
    running = false;
    busy = false;
    const open = ws && ws.readyState === WebSocket.OPEN ? ws : null;
    if (ws) { ws.onclose = null; if (!(open && hooks.onStop)) ws.close(); ws = null; }
    if (stream) { stream.getTracks().forEach((t) => t.stop()); stream = null; }
    video.srcObject = null;
    overlay.getContext("2d").clearRect(0, 0, overlay.width, overlay.height);
    startBtn.disabled = false;
    stopBtn.disabled = true;
    if (device) device.lockWhere(false);
    fps = 0;
    fpsEl.textContent = "0.0";
    if (!status.classList.contains("error")) setStatus(status, "Camera off.");
    if (open && hooks.onStop) hooks.onStop(open);
  }

  startBtn.addEventListener("click", start);
  stopBtn.addEventListener("click", stop);
  window.addEventListener("pagehide", stop);
})();

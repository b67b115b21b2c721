/* Photo page: pick or drop a photo -> POST /api/v1/analyze -> boxes on a canvas + bars per face. */
"use strict";
(function () {
  const { drawFaces, linkFaces, renderPanels, setStatus, errorMessage } = window.Emolens;
  const input = document.getElementById("photo-input");
  const drop = document.getElementById("drop");
  const status = document.getElementById("status");
  const result = document.getElementById("result");
  const canvas = document.getElementById("canvas");
  const facesBox = document.getElementById("faces");

  async function analyze(file) {
    if (!file) return;
    setStatus(status, `Analysing ${file.name}…`);
    const form = new FormData();
    form.append("image", file, file.name);
    let response;
    try {
      response = await fetch("/api/v1/analyze", { method: "POST", body: form });
    } catch (e) {
      setStatus(status, "Could not reach the server: is it still running?", true);
      return;
    }
    if (!response.ok) {
      result.hidden = true;
      setStatus(status, await errorMessage(response), true);
      return;
    }
    const data = await response.json();
    let bitmap;
    try {
      bitmap = await createImageBitmap(file, { imageOrientation: "from-image" });
    } catch (e) {
      bitmap = null; // e.g. TIFF: the browser cannot show it, the server could read it
    }
    canvas.width = data.width;
    canvas.height = data.height;
    const ctx = canvas.getContext("2d");
    const paint = (active) => {
      ctx.fillStyle = "#222";
      ctx.fillRect(0, 0, canvas.width, canvas.height);
      if (bitmap) ctx.drawImage(bitmap, 0, 0, data.width, data.height);
      const rects = drawFaces(ctx, data.faces, data.width, data.height, { active });
      canvas.dataset.labels = JSON.stringify(rects);  // where the labels went (tests check they never overlap)
    };
    paint(null);
    const labels = data.faces.length ? Object.keys(data.faces[0].probabilities) : [];
    renderPanels(facesBox, data.faces, labels, "No face found: try a larger, front-facing, well-lit photo.");
    const toImage = (e) => {
      const r = canvas.getBoundingClientRect();
      return { x: (e.clientX - r.left) * (data.width / r.width), y: (e.clientY - r.top) * (data.height / r.height) };
    };
    linkFaces(canvas, facesBox, data.faces, paint, toImage);
    const n = data.faces.length;
    const unsure = data.faces.filter((f) => f.uncertain).length;
    canvas.setAttribute("aria-label", `${file.name} with ${n} face${n === 1 ? "" : "s"} boxed`);
    result.hidden = false;
    setStatus(status, `${n} face${n === 1 ? "" : "s"} found in ${file.name}` +
      (unsure ? ` (${unsure} uncertain)` : "") + ` · model ${data.model.name}`);
  }

  input.addEventListener("change", () => analyze(input.files[0]));
  ["dragenter", "dragover"].forEach((ev) => drop.addEventListener(ev, (e) => {
    e.preventDefault();
    drop.classList.add("over");
  }));
  ["dragleave", "drop"].forEach((ev) => drop.addEventListener(ev, () => drop.classList.remove("over")));
  drop.addEventListener("drop", (e) => {
    e.preventDefault();
    const file = e.dataTransfer.files[0];
    if (file) analyze(file);
  });
  // A drop anywhere else must not navigate away from the page.
  window.addEventListener("dragover", (e) => e.preventDefault());
  window.addEventListener("drop", (e) => e.preventDefault());
})();

/* Shared drawing for emolens pages: boxes + labels on a canvas, probability bars per face.
   Everything here is plain DOM/canvas; no external libraries. */
"use strict";
(function () {
  // Dark enough for white text (contrast >= 4.5:1); unknown labels fall back to grey.
  const COLORS = {
    angry: "#b71c1c", disgust: "#33691e", fear: "#4a148c", happy: "#9c4a00",
    sad: "#0d47a1", surprise: "#00606a", neutral: "#424242",
  };
  const color = (label) => COLORS[label] || "#424242";
  const HIGHLIGHT = "#f2a900";  // the focus-outline colour of app.css
  const pct = (p) => `${Math.round(p * 100)}%`;

  function faceTitle(face, i) {
    const who = `Face ${faceNumber(face, i)}`;
    return face.uncertain
      ? `${who}: uncertain (maybe ${face.emotion}, ${pct(face.confidence)})`
      : `${who}: ${face.emotion} (${pct(face.confidence)})`;
  }

  function shortLabel(face, i) {
    const who = face.track_id != null ? `#${face.track_id}` : `${i + 1}`;
    return face.uncertain ? `${who} uncertain: ${face.emotion}? ${pct(face.confidence)}`
                          : `${who} ${face.emotion} ${pct(face.confidence)}`;
  }

  const overlaps = (a, b) => a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
  const touches = (a, b) => a.x <= b.x + b.w && b.x <= a.x + a.w && a.y <= b.y + b.h && b.y <= a.y + a.h;

  /* Label rectangles that never overlap one another (the same rule as emolens.inference.draw.place_labels).
     items: [{box: {x, y, w, h}, tw, th}] in canvas pixels, in reading order. Each label tries, in turn:
     above its box, below it, inside its top or bottom edge (left-, right- or centre-aligned), then rows
     further up or down (a leader line joins it to its box), then any free spot; a spot that covers
     another face is taken only when nothing else is free. Returns [{x, y, w, h}]. */
  function layoutLabels(items, W, H) {
    const placed = [];
    items.forEach((it, i) => {
      const { x, y, w, h } = it.box;
      const tw = Math.min(it.tw, W), th = Math.min(it.th, H);
      const xs = [x, x + w - tw, x + (w - tw) / 2];
      const cands = [];
      xs.forEach((cx) => cands.push([cx, y - th], [cx, y + h]));
      xs.forEach((cx) => cands.push([cx, y], [cx, y + h - th]));
      for (let k = 1; k <= Math.ceil(H / th); k++) xs.forEach((cx) => cands.push([cx, y - th - k * th], [cx, y + h + k * th]));
      const rect = ([cx, cy]) => ({ x: Math.max(0, Math.min(W - tw, Math.round(cx))),
                                    y: Math.max(0, Math.min(H - th, Math.round(cy))), w: tw, h: th });
      const others = items.filter((_, j) => j !== i).map((o) => o.box);
      const free = (r) => !placed.some((p) => overlaps(r, p));
      const clear = (r) => free(r) && !others.some((b) => overlaps(r, b));
      let best = cands.map(rect).find(clear) || cands.map(rect).find(free);
      for (let gy = 0; !best && gy + th <= H; gy += th) {
        for (let gx = 0; !best && gx + tw <= W; gx += 4) if (free({ x: gx, y: gy, w: tw, h: th })) best = { x: gx, y: gy, w: tw, h: th };
      }
      placed.push(best || rect(cands[0]));  // a canvas full of labels: nothing is free
    });
    return placed;
  }

  function faceNumber(face, i) { return face.track_id != null ? face.track_id : i + 1; }

  /* Draw boxes for faces whose coordinates are in a (srcW x srcH) image onto ctx (canvas size).
     options.active: the index of a face to highlight (its card is hovered or focused).
     Returns the label rectangles drawn, in canvas pixels, one per face. */
  function drawFaces(ctx, faces, srcW, srcH, options = {}) {
    const sx = ctx.canvas.width / srcW, sy = ctx.canvas.height / srcH;
    const W = ctx.canvas.width, H = ctx.canvas.height;
    const unit = Math.max(1, Math.round(Math.max(W, H) / 400));
    const pad = 3 * unit, th = 11 * unit + 2 * pad;
    ctx.save();
    ctx.font = `600 ${11 * unit}px system-ui, sans-serif`;
    ctx.textBaseline = "top";
    const items = faces.map((face, i) => {
      const { x, y, w, h } = face.box;
      const text = shortLabel(face, i);
      return { face, text, box: { x: x * sx, y: y * sy, w: w * sx, h: h * sy }, tw: ctx.measureText(text).width + 2 * pad, th };
    });
    const rects = layoutLabels(items, W, H);
    items.forEach(({ face, box }) => {
      const c = face.uncertain ? "#5f6670" : color(face.emotion);
      ctx.lineWidth = 2 * unit;
      ctx.setLineDash(face.uncertain ? [6 * unit, 4 * unit] : []);
      ctx.strokeStyle = "#ffffff";
      ctx.strokeRect(box.x - unit, box.y - unit, box.w + 2 * unit, box.h + 2 * unit);
      ctx.strokeStyle = c;
      ctx.strokeRect(box.x, box.y, box.w, box.h);
    });
    ctx.setLineDash([]);
    items.forEach(({ face, text, box }, i) => {
      const r = rects[i], c = face.uncertain ? "#5f6670" : color(face.emotion);
      if (!touches(r, box)) {  // a leader line from the label to its box
        const lx = Math.max(box.x, Math.min(box.x + box.w, r.x + r.w / 2));
        const ly = r.y + r.h < box.y ? box.y : box.y + box.h;
        ctx.strokeStyle = c;
        ctx.lineWidth = unit;
        ctx.beginPath();
        ctx.moveTo(lx, ly);
        ctx.lineTo(Math.max(r.x, Math.min(r.x + r.w, lx)), r.y + r.h < box.y ? r.y + r.h : r.y);
        ctx.stroke();
      }
      ctx.fillStyle = c;
      ctx.fillRect(r.x, r.y, r.w, r.h);
      ctx.fillStyle = "#ffffff";
      ctx.fillText(text, r.x + pad, r.y + pad, r.w - 2 * pad);
    });
    if (options.active != null && items[options.active]) {
      const { box } = items[options.active];
      ctx.strokeStyle = HIGHLIGHT;
      ctx.lineWidth = 3 * unit;
      ctx.strokeRect(box.x - 4 * unit, box.y - 4 * unit, box.w + 8 * unit, box.h + 8 * unit);
    }
    ctx.restore();
    return rects;
  }

  /* Card <-> box: hovering or focusing a card highlights its box (redraw(index)); pointing at a box on the
     canvas highlights its card. toImage(event) maps a pointer event to image pixels. */
  function linkFaces(canvas, container, faces, redraw, toImage) {
    const cards = [...container.querySelectorAll(".face")];
    let active = null, hovered = null, focused = null;  // the pointer wins over the keyboard focus
    const update = () => {
      const i = hovered != null ? hovered : focused;
      if (i === active) return;
      active = i;
      cards.forEach((card, j) => card.classList.toggle("active", j === i));
      canvas.dataset.active = i == null ? "" : String(i + 1);
      redraw(i);
    };
    cards.forEach((card, i) => {
      card.tabIndex = 0;  // focusable: keyboard users highlight a box by tabbing through the cards
      card.addEventListener("mouseenter", () => { hovered = i; update(); });
      card.addEventListener("mouseleave", () => { if (hovered === i) hovered = null; update(); });
      card.addEventListener("focus", () => { focused = i; update(); });
      card.addEventListener("blur", () => { if (focused === i) focused = null; update(); });
    });
    const hit = (e) => {
      const p = toImage(e);
      // the smallest box under the pointer: a face inside a bigger one's box still wins
      let best = null;
      faces.forEach((f, i) => {
        const { x, y, w, h } = f.box;
        if (p.x >= x && p.x <= x + w && p.y >= y && p.y <= y + h && (best == null || w * h < faces[best].box.w * faces[best].box.h)) best = i;
      });
      return best;
    };
    canvas.onmousemove = (e) => { hovered = hit(e); update(); };
    canvas.onmouseleave = () => { hovered = null; update(); };
    canvas.onclick = (e) => { const i = hit(e); if (i != null) cards[i].focus(); };
  }

  function qualityNote(q) {
    const flags = [];
    if (q.tiny) flags.push("small face");
    if (q.blurry) flags.push("blurry");
    if (q.dark) flags.push("dark");
    return flags.length ? `Take with care: ${flags.join(", ")}.` : "";
  }

  /* One panel per face: a heading and a bar per label (text values, bars are decoration). */
  function renderPanels(container, faces, labels, emptyText) {
    container.replaceChildren();
    if (!faces.length) {
      const p = document.createElement("p");
      p.className = "empty";
      p.textContent = emptyText || "No face found.";
      container.append(p);
      return;
    }
    faces.forEach((face, i) => {
      const card = document.createElement("article");
      card.className = "face" + (face.uncertain ? " uncertain" : "");
      card.dataset.face = String(faceNumber(face, i));
      card.style.setProperty("--c", face.uncertain ? "#5f6670" : color(face.emotion));
      const h = document.createElement("h3");
      h.textContent = faceTitle(face, i);
      card.append(h);
      const note = qualityNote(face.quality || {});
      if (note) {
        const p = document.createElement("p");
        p.className = "flags";
        p.textContent = note;
        card.append(p);
      }
      const ul = document.createElement("ul");
      ul.className = "bars";
      ul.setAttribute("aria-label", `Probabilities for ${faceTitle(face, i)}`);
      (labels || Object.keys(face.probabilities)).forEach((label) => {
        const p = face.probabilities[label] || 0;
        const li = document.createElement("li");
        if (label === face.emotion) li.className = "top";
        li.style.setProperty("--c", color(label));
        li.innerHTML = `<span class="name"></span><span class="track" aria-hidden="true"><span class="fill"></span></span><span class="val"></span>`;
        li.querySelector(".name").textContent = label;
        li.querySelector(".fill").style.width = pct(p);
        li.querySelector(".val").textContent = pct(p);
        ul.append(li);
      });
      card.append(ul);
      container.append(card);
    });
  }

  function setStatus(el, text, isError) {
    el.textContent = text;
    el.classList.toggle("error", !!isError);
    el.setAttribute("role", isError ? "alert" : "status");
  }

  /* The server's {"detail": "..."} message, or a fallback naming the HTTP status. */
  async function errorMessage(response) {
    try {
      const body = await response.json();
      if (body && typeof body.detail === "string") return body.detail;
    } catch (e) { /* not JSON */ }
    return `The server answered ${response.status} ${response.statusText}.`;
  }

  window.Emolens = { COLORS, HIGHLIGHT, color, drawFaces, layoutLabels, linkFaces, renderPanels, setStatus, errorMessage,
                     faceTitle };
})();

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
  const pct = (p) => `${Math.round(p * 100)}%`;

  function faceTitle(face, i) {
    const who = face.track_id != null ? `Face ${face.track_id}` : `Face ${i + 1}`;
    return face.uncertain
      ? `${who}: uncertain (maybe ${face.emotion}, ${pct(face.confidence)})`
      : `${who}: ${face.emotion} (${pct(face.confidence)})`;
  }

  function shortLabel(face, i) {
    const who = face.track_id != null ? `#${face.track_id}` : `${i + 1}`;
    return face.uncertain ? `${who} uncertain: ${face.emotion}? ${pct(face.confidence)}`
                          : `${who} ${face.emotion} ${pct(face.confidence)}`;
  }

  /* Draw boxes for faces whose coordinates are in a (srcW x srcH) image onto ctx (canvas size). */
  function drawFaces(ctx, faces, srcW, srcH) {
    const sx = ctx.canvas.width / srcW, sy = ctx.canvas.height / srcH;
    const unit = Math.max(1, Math.round(Math.max(ctx.canvas.width, ctx.canvas.height) / 400));
    ctx.save();
    ctx.font = `600 ${11 * unit}px system-ui, sans-serif`;
    ctx.textBaseline = "top";
    faces.forEach((face, i) => {
      const [x, y, w, h] = face.box;
      const bx = x * sx, by = y * sy, bw = w * sx, bh = h * sy;
      const c = face.uncertain ? "#5f6670" : color(face.emotion);
      ctx.lineWidth = 2 * unit;
      ctx.setLineDash(face.uncertain ? [6 * unit, 4 * unit] : []);
      ctx.strokeStyle = "#ffffff";
      ctx.strokeRect(bx - unit, by - unit, bw + 2 * unit, bh + 2 * unit);
      ctx.strokeStyle = c;
      ctx.strokeRect(bx, by, bw, bh);
      const text = shortLabel(face, i);
      const pad = 3 * unit, th = 11 * unit + 2 * pad, tw = ctx.measureText(text).width + 2 * pad;
      const ty = by - th >= 0 ? by - th : by + bh;
      ctx.setLineDash([]);
      ctx.fillStyle = c;
      ctx.fillRect(bx, ty, tw, th);
      ctx.fillStyle = "#ffffff";
      ctx.fillText(text, bx + pad, ty + pad);
    });
    ctx.restore();
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

  window.Emolens = { COLORS, color, drawFaces, renderPanels, setStatus, errorMessage, faceTitle };
})();

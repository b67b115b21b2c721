/* Video page: upload (with progress) -> POST /api/v1/analyze/video -> poll the job -> plotly timeline + summary. */
"use strict";
(function () {
  const { color, setStatus } = window.Emolens;
  const $ = (id) => document.getElementById(id);
  const form = $("video-form"), input = $("video-input"), status = $("status");
  const box = $("progress-box"), bar = $("progress"), barLabel = $("progress-label");
  const result = $("result"), chart = $("chart"), summaryBox = $("summary"), csv = $("csv");
  const pct = (p) => `${Math.round(p * 100)}%`;
  const secs = (s) => `${s.toFixed(1)} s`;

  function progress(label, fraction) {
    box.hidden = false;
    barLabel.textContent = label;
    bar.value = Math.round(fraction * 100);
    bar.textContent = pct(fraction);
  }

  function plot(timeline) {
    const labels = Object.keys(timeline.probabilities);
    const traces = labels.map((label) => ({
      x: timeline.t, y: timeline.probabilities[label], name: label, type: "scatter", mode: "lines",
      line: { color: color(label), width: 2 }, connectgaps: false,
      hovertemplate: `${label} %{y:.0%} at %{x:.1f} s<extra></extra>`,
    }));
    traces.push({ x: timeline.t, y: timeline.valence, name: "valence (−1..1)", yaxis: "y2", type: "scatter",
      mode: "lines", visible: "legendonly", line: { color: "#000", dash: "dot" } });
    const layout = {
      margin: { l: 56, r: 56, t: 16, b: 48 }, hovermode: "x unified",
      xaxis: { title: { text: "time (s)" } },
      yaxis: { title: { text: "mean probability" }, range: [0, 1], tickformat: ".0%" },
      yaxis2: { overlaying: "y", side: "right", range: [-1, 1], showgrid: false, zeroline: false, title: { text: "valence" } },
      legend: { orientation: "h", y: -0.2 },
    };
    window.Plotly.newPlot(chart, traces, layout, { responsive: true, displaylogo: false });
  }

  function table(head, rows) {
    const t = document.createElement("table");
    t.className = "summary";
    t.innerHTML = "<thead><tr></tr></thead><tbody></tbody>";
    head.forEach((h) => { const th = document.createElement("th"); th.scope = "col"; th.textContent = h; t.tHead.rows[0].append(th); });
    rows.forEach((r) => {
      const tr = t.tBodies[0].insertRow();
      r.forEach((v) => { const td = tr.insertCell(); td.textContent = v; if (typeof v === "string" && /^[-\d.]+( s|%)?$/.test(v)) td.className = "num"; });
    });
    return t;
  }

  function summarize(job) {
    const s = job.summary;
    summaryBox.replaceChildren();
    const facts = document.createElement("ul");
    facts.className = "summary-facts";
    const withFaces = s.frames ? s.frames_with_faces / s.frames : 0;
    [[`Duration`, secs(s.duration)], ["Frames", `${s.frames}`], ["Frames with a face", pct(withFaces)],
     ["People (tracks)", `${s.face_count}`], ["Most frequent", s.dominant || "no face"],
     ["Mean valence", s.mean_valence == null ? "–" : s.mean_valence.toFixed(2)]]
      .forEach(([k, v]) => { const li = document.createElement("li"); li.innerHTML = "<span></span>: <strong></strong>";
        li.firstChild.textContent = k; li.lastChild.textContent = v; facts.append(li); });
    summaryBox.append(facts);
    const shares = Object.entries(s.share).sort((a, b) => b[1] - a[1]);
    summaryBox.append(table(["Emotion", "Share of face-time"], shares.map(([k, v]) => [k, pct(v)])));
    if (s.faces.length) {
      const h = document.createElement("h3");
      h.textContent = "Per face";
      summaryBox.append(h, table(["Face", "On screen", "Frames", "Most frequent", "Mean valence"],
        s.faces.map((f) => [`#${f.id}`, `${secs(f.first_time)} – ${secs(f.last_time)}`, `${f.frames}`, f.dominant,
          f.mean_valence.toFixed(2)])));
    }
  }

  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const file = input.files[0];
    if (!file) { setStatus(status, "Choose a video file first.", true); input.focus(); return; }
    const button = form.querySelector("button");
    button.disabled = true;
    result.hidden = true;
    setStatus(status, "");
    try {
      const created = await window.EmolensJobs.upload("/api/v1/analyze/video", file, progress);
      progress("Waiting for the analyser…", 0);
      const job = await window.EmolensJobs.poll(created.url, progress);
      progress("Done", 1);
      result.hidden = false;
      plot(job.timeline);
      summarize(job);
      csv.href = job.csv_url;
      setStatus(status, `Analysed ${job.frames_done} frames of ${job.filename}.`);
    } catch (err) {
      box.hidden = true;
      setStatus(status, err.message, true);
    } finally {
      button.disabled = false;
    }
  });
})();

/* Mood journal charts (plotly, served locally): indexes over time (the day the model changed marked), emotion
   shares, weekdays; tag table. */
"use strict";
(function () {
  const { color } = window.Emolens;
  const CONFIG = { responsive: true, displaylogo: false };
  const INDEX_COLORS = { happiness: "#9c4a00", sadness: "#0d47a1", stress: "#b71c1c" };

  /* Bucket labels (2026-03-16, 2026-W12, 2026-03) on a category axis: one tick per day/week/month with data. */
  const XAXIS = { type: "category", automargin: true };

  /* A dashed line where a new model version started reading the check-ins: trends either side are not alike. */
  function modelMarks(series, changes) {
    const labels = new Set(series.map((b) => b.label));
    const seen = changes.filter((c) => labels.has(c.bucket));
    return {
      shapes: seen.map((c) => ({ type: "line", xref: "x", yref: "paper", x0: c.bucket, x1: c.bucket, y0: 0, y1: 1,
        line: { color: "#5f6670", width: 1.5, dash: "dash" } })),
      annotations: seen.map((c) => ({ x: c.bucket, xref: "x", y: 1, yref: "paper", yanchor: "bottom",
        text: `model changed (${c.sha256.slice(0, 8)})`, showarrow: false, font: { size: 11, color: "#5f6670" } })),
    };
  }

  function indexes(el, series, group, changes) {
    const x = series.map((b) => b.label);
    const traces = ["happiness", "sadness", "stress"].map((name) => ({
      x, y: series.map((b) => b[name]), name, type: "scatter", mode: series.length > 1 ? "lines+markers" : "markers",
      line: { color: INDEX_COLORS[name], width: 2 }, marker: { size: 7 },
      hovertemplate: `${name} %{y:.0f} (%{x})<extra></extra>`,
    }));
    window.Plotly.newPlot(el, traces, {
      title: { text: `Indexes by ${group} (0–100)`, font: { size: 15 } }, margin: { l: 48, r: 16, t: 40, b: 48 },
      yaxis: { range: [0, 100], title: { text: "index" } }, xaxis: XAXIS,
      legend: { orientation: "h", y: -0.2 }, hovermode: "x unified", ...modelMarks(series, changes || []),
    }, CONFIG);
  }

  function shares(el, series, group, moods) {
    const x = series.map((b) => b.label);
    const traces = moods.map((m) => ({
      x, y: series.map((b) => b.shares[m] || 0), name: m, type: "bar", marker: { color: color(m) },
      hovertemplate: `${m} %{y:.0%}<extra></extra>`,
    }));
    window.Plotly.newPlot(el, traces, {
      title: { text: `Share of each emotion by ${group}`, font: { size: 15 } }, barmode: "stack",
      margin: { l: 48, r: 16, t: 40, b: 48 }, yaxis: { range: [0, 1], tickformat: ".0%" }, xaxis: XAXIS,
      legend: { orientation: "h", y: -0.2 },
    }, CONFIG);
  }

  function weekdays(el, rows) {
    const x = rows.map((r) => r.weekday.slice(0, 3));
    const traces = ["happiness", "sadness", "stress"].map((name) => ({
      x, y: rows.map((r) => r[name]), name, type: "bar", marker: { color: INDEX_COLORS[name] },
      hovertemplate: `${name} %{y:.0f}<extra></extra>`,
    }));
    window.Plotly.newPlot(el, traces, {
      title: { text: "By day of the week", font: { size: 15 } }, barmode: "group",
      margin: { l: 40, r: 8, t: 40, b: 40 }, yaxis: { range: [0, 100] }, legend: { orientation: "h", y: -0.2 },
    }, CONFIG);
  }

  function tagTable(el, tags) {
    el.replaceChildren();
    if (!tags.length) {
      const p = document.createElement("p");
      p.className = "hint";
      p.textContent = "Tag a few check-ins (sleep, work, exercise…) to see how they go together with your mood.";
      el.append(p);
      return;
    }
    const t = document.createElement("table");
    t.className = "summary";
    t.createCaption().textContent = "Tags: indexes with the tag minus without it";
    const head = t.createTHead().insertRow();
    ["tag", "check-ins", "happiness", "sadness", "stress"].forEach((h) => {
      const th = document.createElement("th"); th.scope = "col"; th.textContent = h; head.append(th);
    });
    const body = t.createTBody();
    tags.forEach((tag) => {
      const row = body.insertRow();
      const signed = (v) => (v > 0 ? "+" : "") + Math.round(v);
      [tag.tag, String(tag.checkins), signed(tag.delta.happiness), signed(tag.delta.sadness), signed(tag.delta.stress)]
        .forEach((v, i) => { const td = row.insertCell(); td.textContent = v; if (i) td.className = "num"; });
    });
    el.append(t);
  }

  function render(summary, moods) {
    const $ = (id) => document.getElementById(id);
    const empty = !summary.series.length;
    ["chart-indexes", "chart-shares", "chart-weekdays"].forEach((id) => { $(id).hidden = empty; });
    if (!empty) {
      indexes($("chart-indexes"), summary.series, summary.group, summary.model_changes);
      shares($("chart-shares"), summary.series, summary.group, moods);
      weekdays($("chart-weekdays"), summary.weekdays);
    }
    tagTable($("tags-table"), summary.tags);
  }

  window.JournalCharts = { render };
})();

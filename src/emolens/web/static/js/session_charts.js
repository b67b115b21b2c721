/* Satisfaction pages: draw the plotly figures the server put in <script type="application/json" id="figures">
   (specs from emolens.apps.satisfaction.charts) into the elements with the same ids. */
"use strict";
(function () {
  const data = document.getElementById("figures");
  if (!data || !window.Plotly) return;
  const figures = JSON.parse(data.textContent);
  Object.entries(figures).forEach(([id, fig]) => {
    const el = document.getElementById(id);
    if (el) window.Plotly.newPlot(el, fig.data, fig.layout, { responsive: true, displaylogo: false });
  });
})();

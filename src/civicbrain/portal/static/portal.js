// The portal's only script: draws Plotly charts from JSON embedded in the page, and sends the
// CSRF token with HTMX requests. Pages work without it (charts have tables beside them).
(function () {
  "use strict";

  function drawCharts(root) {
    if (!window.Plotly) return;
    root.querySelectorAll("[data-plot]").forEach(function (el) {
      if (el.dataset.drawn) return;
      var source = document.getElementById(el.dataset.plot);
      if (!source) return;
      var figure = JSON.parse(source.textContent);
      window.Plotly.newPlot(el, figure.data, figure.layout, { displaylogo: false, responsive: true });
      el.dataset.drawn = "1";
    });
  }

  function loadPlotlyThen(callback) {
    if (window.Plotly) return callback();
    var script = document.createElement("script");
    script.src = "/static/vendor/plotly.min.js";
    script.onload = callback;
    document.head.appendChild(script);
  }

  document.addEventListener("DOMContentLoaded", function () {
    // Plotly is 4 MB: fetched only on pages that have a chart.
    if (document.querySelector("[data-plot]")) loadPlotlyThen(function () { drawCharts(document); });
  });

  document.addEventListener("htmx:configRequest", function (event) {
    var meta = document.querySelector('meta[name="csrf-token"]');
    if (meta) event.detail.headers["X-CSRF-Token"] = meta.content;
  });

  document.addEventListener("htmx:afterSwap", function (event) {
    if (event.target.querySelector && event.target.querySelector("[data-plot]")) {
      loadPlotlyThen(function () { drawCharts(event.target); });
    }
  });
})();

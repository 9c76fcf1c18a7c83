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

  function focusErrorSummary(root) {
    // A form came back with a problem: move focus to the summary so screen-reader users hear it first.
    var summary = root.querySelector(".error-summary");
    if (summary) summary.focus();
  }

  document.addEventListener("DOMContentLoaded", function () {
    // Plotly is 4 MB: fetched only on pages that have a chart.
    if (document.querySelector("[data-plot]")) loadPlotlyThen(function () { drawCharts(document); });
    focusErrorSummary(document);
  });

  document.addEventListener("htmx:configRequest", function (event) {
    var meta = document.querySelector('meta[name="csrf-token"]');
    if (meta) event.detail.headers["X-CSRF-Token"] = meta.content;
  });

  document.addEventListener("htmx:afterSwap", function (event) {
    // After an outerHTML swap the event's elements are the old ones, so look in the document.
    if (event.detail.xhr && event.detail.xhr.status === 422) focusErrorSummary(document);
    if (document.querySelector("[data-plot]:not([data-drawn])")) {
      loadPlotlyThen(function () { drawCharts(document); });
    }
  });
})();

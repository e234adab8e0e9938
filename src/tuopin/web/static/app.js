// tuopin's only script besides htmx and Plotly (the CSP allows no inline script).
(function () {
  "use strict";

  // Every htmx request that changes something carries the session's CSRF token.
  document.addEventListener("htmx:configRequest", function (event) {
    var token = document.body.getAttribute("data-csrf");
    if (token) {
      event.detail.headers["X-CSRF-Token"] = token;
    }
  });

  // Charts: each element with data-figure holds a Plotly figure as JSON.
  function drawCharts(root) {
    if (typeof window.Plotly === "undefined") {
      return;
    }
    root.querySelectorAll("[data-figure]").forEach(function (element) {
      if (element.getAttribute("data-drawn")) {
        return;
      }
      var figure = JSON.parse(element.getAttribute("data-figure"));
      var config = { responsive: true, displaylogo: false };
      window.Plotly.newPlot(element, figure.data, figure.layout, config).then(function () {
        element.setAttribute("data-drawn", "1");
      });
    });
  }

  window.addEventListener("load", function () { drawCharts(document); });
  document.addEventListener("htmx:afterSettle", function (event) { drawCharts(event.target); });
})();

/* The dashboard's little JavaScript: charts drawn from their tables, drag to reorder the
   queue (it posts the same form as the buttons), and the live preview of a new tip.
   Every page works without it. */
(function () {
  "use strict";

  var PALETTE = ["#1f5f99", "#e39b2d", "#b3261e", "#1e6b34", "#6b3fa0"];

  function cssVar(name, fallback) {
    var value = getComputedStyle(document.documentElement).getPropertyValue(name).trim();
    return value || fallback;
  }

  /* A <figure class="chart"> holds a table: the first column labels, the others series. */
  function drawCharts() {
    if (typeof window.Chart === "undefined") { return; }
    document.querySelectorAll("figure.chart").forEach(function (figure) {
      var table = figure.querySelector("table");
      var area = figure.querySelector(".chart-area");
      if (!table || !area) { return; }
      var heads = Array.prototype.map.call(table.querySelectorAll("thead th"), function (th) {
        return th.textContent.trim();
      });
      var rows = Array.prototype.slice.call(table.querySelectorAll("tbody tr"));
      var labels = rows.map(function (tr) { return tr.querySelector("th").textContent.trim(); });
      var unit = figure.getAttribute("data-unit") || "";
      var kind = figure.getAttribute("data-chart") || "line";
      var zoom = kind === "line-zoom";  /* a rate near 100 %: the axis starts near the data */
      if (zoom) { kind = "line"; }
      var datasets = heads.slice(1).map(function (head, i) {
        var color = PALETTE[i % PALETTE.length];
        return {
          label: head,
          data: rows.map(function (tr) {
            var cell = tr.querySelectorAll("td")[i];
            var raw = cell ? cell.getAttribute("data-value") : "";
            return raw === "" || raw === null ? null : Number(raw);
          }),
          borderColor: color,
          backgroundColor: color,
          pointRadius: rows.length > 40 ? 0 : 2,
          spanGaps: true
        };
      });
      var ink = cssVar("--ink", "#1d2733");
      var grid = cssVar("--line", "#c9d1d9");
      var canvas = document.createElement("canvas");
      canvas.setAttribute("role", "img");
      canvas.setAttribute("aria-label", figure.querySelector("figcaption").textContent.trim() +
        ": a chart of the numbers in the table below.");
      area.appendChild(canvas);
      new window.Chart(canvas, {
        type: kind,
        data: { labels: labels, datasets: datasets },
        options: {
          responsive: true,
          maintainAspectRatio: false,
          animation: false,
          interaction: { mode: "index", intersect: false },
          plugins: {
            legend: { labels: { color: ink } },
            tooltip: {
              callbacks: {
                label: function (ctx) {
                  var v = ctx.parsed.y;
                  return ctx.dataset.label + ": " + (v === null ? "–" : unit === "%" ? v.toFixed(2) + " %" : v.toLocaleString());
                }
              }
            }
          },
          scales: {
            x: { ticks: { color: ink, maxRotation: 0, autoSkip: true }, grid: { color: grid } },
            y: {
              beginAtZero: !zoom,
              ticks: { color: ink, callback: function (v) { return unit === "%" ? v + " %" : Number(v).toLocaleString(); } },
              grid: { color: grid }
            }
          }
        }
      });
      var numbers = figure.querySelector("details.numbers");
      if (numbers) { numbers.removeAttribute("open"); }
      figure.classList.add("drawn");
    });
  }

  /* Drag a tip that is not pinned to another place; on drop, post the new order. */
  function reorderable() {
    var list = document.querySelector("ol[data-reorder]");
    if (!list) { return; }
    var form = document.getElementById(list.getAttribute("data-reorder"));
    var dragged = null;
    list.addEventListener("dragstart", function (event) {
      var item = event.target.closest && event.target.closest("li[draggable=true]");
      if (!item) { return; }
      dragged = item;
      item.classList.add("dragging");
      event.dataTransfer.effectAllowed = "move";
      event.dataTransfer.setData("text/plain", item.getAttribute("data-id"));
    });
    list.addEventListener("dragover", function (event) {
      if (!dragged) { return; }
      var over = event.target.closest && event.target.closest("li.slot");
      if (!over || over === dragged || !over.hasAttribute("data-id")) { return; }
      event.preventDefault();
      list.querySelectorAll(".drop-before").forEach(function (li) { li.classList.remove("drop-before"); });
      over.classList.add("drop-before");
    });
    list.addEventListener("drop", function (event) {
      if (!dragged) { return; }
      var over = event.target.closest && event.target.closest("li.slot");
      event.preventDefault();
      list.querySelectorAll(".drop-before").forEach(function (li) { li.classList.remove("drop-before"); });
      if (!over || over === dragged || !over.hasAttribute("data-id")) { return; }
      list.insertBefore(dragged, over);
      var order = Array.prototype.map.call(list.querySelectorAll("li[data-id]"), function (li) {
        return li.getAttribute("data-id");
      });
      form.querySelector("input[name=order]").value = order.join(",");
      form.submit();
    });
    list.addEventListener("dragend", function () {
      if (dragged) { dragged.classList.remove("dragging"); }
      dragged = null;
    });
  }

  /* While a new tip is written, ask the server to render it and show it in both frames. */
  function livePreview() {
    var form = document.querySelector("form[data-live-preview]");
    if (!form) { return; }
    var url = form.getAttribute("data-live-preview");
    var status = document.getElementById("draft-error");
    var timer = null;
    var asked = 0;
    function refresh() {
      var mine = ++asked;
      var data = new FormData(form);
      fetch(url, { method: "POST", body: data, credentials: "same-origin" })
        .then(function (answer) { return answer.json(); })
        .then(function (result) {
          if (mine !== asked) { return; }
          if (result.ok) {
            status.textContent = "";
            document.getElementById("preview-600").src = result.src;
            document.getElementById("preview-375").src = result.src;
          } else {
            status.textContent = result.error;
          }
        })
        .catch(function () { status.textContent = "The preview could not be made: use the Preview button."; });
    }
    form.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(refresh, 600);
    });
    form.addEventListener("change", function (event) {
      if (event.target && event.target.type === "file") { refresh(); }
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    drawCharts();
    reorderable();
    livePreview();
  });
}());

// Analytics pages: draws one uPlot chart per metric from the JSON in #analytics-charts'
// data-series (the server renders the same numbers as a table, so without this script, or
// without uPlot, the page still says everything).
(function () {
  "use strict";
  var COLORS = ["#2457d6", "#c2410c"];
  var HEIGHT = 180;

  var section = document.getElementById("analytics-charts");
  if (!section || !window.uPlot) return;
  var data;
  try {
    data = JSON.parse(section.getAttribute("data-series"));
  } catch (err) {
    return;
  }
  var grid = section.querySelector(".rh-chart-grid");
  var charts = [];

  var DAY = 86400;
  var dayLabel = window.uPlot.fmtDate("{MMM} {D}");

  function utc(ts) { return window.uPlot.tzDate(new Date(ts * 1000), "Etc/UTC"); }

  function formatValue(unit) {
    return function (u, value) {
      if (value == null) return "—";
      return (unit === "%" ? value.toFixed(1) + " %" : value + (unit ? " " + unit : ""));
    };
  }

  function options(chart, width) {
    var series = [{ label: "Day (UTC)", value: "{YYYY}-{MM}-{DD}" }];
    chart.series.forEach(function (s, i) {
      series.push({
        label: s.label,
        stroke: COLORS[i % COLORS.length],
        width: 2,
        points: { show: true, size: 6 },
        value: formatValue(chart.unit),
      });
    });
    return {
      width: width,
      height: HEIGHT,
      tzDate: utc,
      cursor: { drag: { x: false, y: false } },
      scales: {
        x: { time: true },
        y: { range: function (u, min, max) { return [0, max > 0 ? max * 1.15 : 1]; } },
      },
      axes: [
        {
          space: 48,
          incrs: [DAY, 2 * DAY, 3 * DAY, 7 * DAY, 14 * DAY],  // whole days only
          values: function (u, splits) { return splits.map(function (s) { return dayLabel(utc(s)); }); },
        },
        { label: chart.unit, size: 56 },
      ],
      series: series,
    };
  }

  function draw(chart) {
    var figure = document.createElement("figure");
    figure.className = "rh-chart";
    figure.setAttribute("data-chart", chart.id);
    var caption = document.createElement("figcaption");
    caption.textContent = chart.label + " per day";
    figure.appendChild(caption);
    var plot = document.createElement("div");
    plot.className = "rh-chart-plot";
    plot.setAttribute("aria-hidden", "true");  // the table below has the same numbers
    figure.appendChild(plot);
    grid.appendChild(figure);
    var columns = [data.days].concat(chart.series.map(function (s) { return s.values; }));
    charts.push({ plot: plot, uplot: new window.uPlot(options(chart, plot.clientWidth || 320), columns, plot) });
  }

  section.hidden = false;
  data.charts.forEach(draw);
  section.setAttribute("data-drawn", String(charts.length));

  var resizeTimer = null;
  window.addEventListener("resize", function () {
    window.clearTimeout(resizeTimer);
    resizeTimer = window.setTimeout(function () {
      charts.forEach(function (c) { c.uplot.setSize({ width: c.plot.clientWidth || 320, height: HEIGHT }); });
    }, 150);
  });
})();

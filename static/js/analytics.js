// Charts of the staff analytics page (Chart.js 4, vendored). The data, with translated
// labels, is embedded by the page with json_script.
(function () {
  "use strict";
  const source = document.getElementById("analytics-data");
  if (!source || typeof Chart === "undefined") {
    return;
  }
  const data = JSON.parse(source.textContent);
  const colours = ["#6d28d9", "#0e7490", "#b45309", "#15803d", "#be123c", "#4b5563"];
  const rtl = document.documentElement.dir === "rtl";

  function datasets(labels, series) {
    return labels.map(function (label, i) {
      return { label: label, data: series[i], backgroundColor: colours[i % colours.length] };
    });
  }

  function draw(id, config) {
    const canvas = document.getElementById(id);
    if (canvas) {
      config.options = Object.assign(
        { responsive: true, maintainAspectRatio: false, locale: document.documentElement.lang },
        config.options || {}
      );
      config.options.plugins = Object.assign({ legend: { rtl: rtl } }, config.options.plugins);
      new Chart(canvas, config);
    }
  }

  draw("chart-points", {
    type: "bar",
    data: { labels: data.months, datasets: datasets(data.points.labels, data.points.series) },
    options: { scales: { x: { reverse: rtl }, y: { beginAtZero: true } } },
  });
  draw("chart-members", {
    type: "line",
    data: { labels: data.months, datasets: datasets(data.members.labels, data.members.series) },
    options: { scales: { x: { reverse: rtl }, y: { beginAtZero: true } } },
  });
  draw("chart-funnel", {
    type: "bar",
    data: {
      labels: data.funnel.labels,
      datasets: [{ label: "", data: data.funnel.values, backgroundColor: colours }],
    },
    options: { indexAxis: "y", plugins: { legend: { display: false } }, scales: { x: { beginAtZero: true } } },
  });
  draw("chart-tiers", {
    type: "doughnut",
    data: {
      labels: data.tiers.labels,
      datasets: [{ data: data.tiers.values, backgroundColor: colours }],
    },
  });
})();

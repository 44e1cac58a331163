// Draws the overview charts from /api/metrics with Chart.js. Labels and
// model names go through Chart.js, which draws them on a canvas as text.
"use strict";

(function () {
  const section = document.getElementById("charts");
  const status = document.getElementById("chart-status");
  if (!section || typeof Chart === "undefined") {
    if (status) status.textContent = "Charts could not be loaded.";
    return;
  }

  const PALETTE = ["#6b4fd8", "#1f8a70", "#2f7bd9", "#d9822b", "#c8322f", "#8a6d3b", "#3b8a8a", "#a34f9b", "#5b6675", "#7fa33b"];
  const STATE_COLORS = { Success: "#2e9e5b", Fail: "#c8322f", Indeterminate: "#8a8f98" };
  const HOUR = 3600e3;
  const DAY = 24 * HOUR;
  const WIDTHS = { hour: HOUR, day: DAY, week: 7 * DAY };
  const ORIGINS = { hour: 0, day: 0, week: 4 * DAY };

  Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
  Chart.defaults.color = "#5b6675";
  Chart.defaults.animation = false;
  Chart.defaults.maintainAspectRatio = false;

  function bucketLabel(ms, granularity) {
    const iso = new Date(ms).toISOString();
    return granularity === "hour" ? iso.slice(5, 13).replace("T", " ") + ":00" : iso.slice(0, 10);
  }

  // Every bucket of the range, with the buckets the server sent filled in.
  function allBuckets(metrics) {
    const width = WIDTHS[metrics.granularity];
    const origin = ORIGINS[metrics.granularity];
    const byStart = new Map(metrics.buckets.map((b) => [Date.parse(b.start), b]));
    const from = Date.parse(metrics.from);
    const to = Date.parse(metrics.to);
    const first = Math.floor((from - origin) / width) * width + origin;
    const buckets = [];
    for (let start = first; start < to; start += width) {
      buckets.push({ start, data: byStart.get(start) || null });
    }
    return buckets;
  }

  function chart(id, config) {
    const canvas = document.getElementById(id);
    if (canvas) new Chart(canvas, config);
  }

  function dollars(pd) {
    return pd / 1e12;
  }

  // Axis labels only; tooltips show the exact amounts from the server.
  function dollarTick(value) {
    if (value === 0) return "$0";
    return "$" + (Math.abs(value) < 0.01 ? Number(value.toPrecision(2)).toString() : value.toFixed(2));
  }

  function draw(metrics) {
    const buckets = allBuckets(metrics);
    const labels = buckets.map((b) => bucketLabel(b.start, metrics.granularity));
    const models = metrics.models.map((m) => m.model);
    const colorOf = (index) => PALETTE[index % PALETTE.length];

    chart("chart-sessions", {
      type: "bar",
      data: { labels, datasets: [{ label: "Sessions", data: buckets.map((b) => (b.data ? b.data.sessions : 0)), backgroundColor: "#2f7bd9" }] },
      options: { plugins: { legend: { display: false } }, scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } },
    });

    const costText = new Map();
    const costSets = models.map((model, index) => ({
      label: model,
      backgroundColor: colorOf(index),
      data: buckets.map((b) => {
        const entry = b.data && b.data.models.find((m) => m.model === model);
        if (entry) costText.set(model + "\u0000" + b.start, entry.cost);
        return entry ? dollars(entry.cost_pd) : 0;
      }),
    }));
    chart("chart-cost", {
      type: "bar",
      data: { labels, datasets: costSets },
      options: {
        scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true, ticks: { callback: dollarTick } } },
        plugins: {
          tooltip: {
            callbacks: {
              label: (item) => {
                const exact = costText.get(item.dataset.label + "\u0000" + buckets[item.dataIndex].start);
                return item.dataset.label + ": $" + (exact || "0.00");
              },
            },
          },
        },
      },
    });

    chart("chart-tokens", {
      type: "bar",
      data: {
        labels: models,
        datasets: [
          { label: "Prompt tokens", data: metrics.models.map((m) => m.prompt_tokens), backgroundColor: "#6b4fd8" },
          { label: "Completion tokens", data: metrics.models.map((m) => m.completion_tokens), backgroundColor: "#1f8a70" },
        ],
      },
      options: { indexAxis: "y", scales: { x: { stacked: true, beginAtZero: true }, y: { stacked: true } } },
    });

    const states = Object.entries(metrics.totals.end_states);
    chart("chart-states", {
      type: "doughnut",
      data: {
        labels: states.map(([state]) => state),
        datasets: [{ data: states.map(([, count]) => count), backgroundColor: states.map(([state], i) => STATE_COLORS[state] || colorOf(i + 3)) }],
      },
      options: { plugins: { legend: { position: "right" } } },
    });

    chart("chart-errors", {
      type: "line",
      data: {
        labels,
        datasets: [{
          label: "Sessions with errors (%)",
          data: buckets.map((b) => (b.data && b.data.sessions ? (100 * b.data.sessions_with_errors) / b.data.sessions : null)),
          borderColor: "#c8322f",
          backgroundColor: "#c8322f",
          spanGaps: true,
        }],
      },
      options: { plugins: { legend: { display: false } }, scales: { y: { beginAtZero: true, suggestedMax: 10 } } },
    });

    status.textContent = metrics.totals.sessions === 0 ? "No sessions in this range yet." : "";
    section.dataset.loaded = "true";
  }

  fetch(section.dataset.metricsUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
    .then((response) => {
      if (!response.ok) throw new Error("HTTP " + response.status);
      return response.json();
    })
    .then(draw)
    .catch((error) => {
      status.textContent = "The metrics could not be loaded (" + error.message + "); reload the page.";
    });
})();

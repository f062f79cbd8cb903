// Library and asset pages: polls the status of preparing assets every 2 s and updates rows.
(function () {
  "use strict";
  var POLL_MS = 2000;

  function pending() {
    return Array.prototype.slice.call(
      document.querySelectorAll('.rh-asset[data-status="preparing"]'));
  }

  function show(el, row) {
    var status = el.querySelector(".rh-status");
    var bar = el.querySelector(".rh-asset-progress");
    el.setAttribute("data-status", row.status);
    if (status) {
      status.textContent = row.status;
      status.className = "rh-status rh-status--" + row.status;
    }
    if (bar) {
      bar.value = row.progress;
      bar.textContent = row.progress + "%";
      bar.hidden = row.status !== "preparing";
    }
    var duration = el.querySelector(".rh-duration");
    if (duration) duration.textContent = row.duration;
    var resolution = el.querySelector(".rh-resolution");
    if (resolution) resolution.textContent = row.resolution;
  }

  function poll() {
    var rows = pending();
    if (!rows.length) return;
    var ids = rows.map(function (el) { return el.getAttribute("data-asset-id"); });
    fetch("/dashboard/api/assets?ids=" + encodeURIComponent(ids.join(",")), {
      credentials: "same-origin",
      headers: { Accept: "application/json" }
    }).then(function (response) {
      if (response.status === 401) { window.location.assign("/signin?expired=1"); return null; }
      return response.ok ? response.json() : null;
    }).then(function (body) {
      if (!body) return;
      var byId = {};
      body.data.forEach(function (row) { byId[row.id] = row; });
      var finished = false;
      rows.forEach(function (el) {
        var row = byId[el.getAttribute("data-asset-id")];
        if (!row) return;
        show(el, row);
        if (row.status !== "preparing") finished = true;
      });
      // The asset page shows the player and tracks only once ready: reload it then.
      if (finished && document.querySelector(".rh-asset-page")) window.location.reload();
    }).catch(function () { /* transient: the next tick retries */ })
      .then(function () { if (pending().length) window.setTimeout(poll, POLL_MS); });
  }

  window.setTimeout(poll, POLL_MS);
})();

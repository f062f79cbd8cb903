// Library and asset pages. Polls the status of preparing assets every 2 s and updates their rows
// in place (status, progress, duration, resolution, thumbnail); the asset page polls while
// anything on it is being made (the video, a caption track, a download) and reloads once nothing
// is. Copy buttons copy the value of the field named by their data-copy attribute.
(function () {
  "use strict";
  var POLL_MS = 2000;
  var assetPage = document.querySelector(".rh-asset-page");

  function pending() {
    return Array.prototype.slice.call(document.querySelectorAll(
      '.rh-asset[data-status="preparing"], .rh-asset[data-pending="true"]'));
  }

  function showThumbnail(el, url) {
    var placeholder = el.querySelector(".rh-thumb--none");
    if (!placeholder || !url) return;
    var img = document.createElement("img");
    img.className = "rh-thumb";
    img.src = url;
    img.alt = "";
    img.width = 160;
    img.height = 90;
    placeholder.parentNode.replaceChild(img, placeholder);
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
    showThumbnail(el, row.thumbnail);
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
      rows.forEach(function (el) {
        var row = byId[el.getAttribute("data-asset-id")];
        if (!row) return;
        show(el, row);
        if (el === assetPage && !row.pending) {
          // The player, renditions, tracks and downloads are drawn by the server: reload.
          el.setAttribute("data-pending", "false");
          window.location.reload();
        }
      });
    }).catch(function () { /* transient: the next tick retries */ })
      .then(function () { if (pending().length) window.setTimeout(poll, POLL_MS); });
  }

  // --- copy buttons ---------------------------------------------------------------------

  var live = document.createElement("p");
  live.className = "rh-visually-hidden";
  live.setAttribute("role", "status");
  document.body.appendChild(live);

  function copyText(field) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(field.value);
    }
    field.focus();
    field.select();
    return document.execCommand("copy") ? Promise.resolve() : Promise.reject(new Error("copy"));
  }

  function flash(button, text) {
    var before = button.getAttribute("data-label") || button.textContent;
    button.setAttribute("data-label", before);
    button.textContent = text;
    live.textContent = text;
    window.setTimeout(function () { button.textContent = before; }, 1500);
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest(".rh-copy-button") : null;
    if (!button) return;
    var field = document.getElementById(button.getAttribute("data-copy"));
    if (!field || !field.value) return;
    copyText(field).then(function () { flash(button, "Copied"); }, function () {
      field.focus();
      field.select();
      flash(button, "Press Ctrl+C to copy");
    });
  });

  window.setTimeout(poll, POLL_MS);
})();

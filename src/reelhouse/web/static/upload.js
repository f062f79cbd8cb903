// The upload page: each dropped file gets a direct upload from the dashboard, then
// tus-js-client sends it there, resumably (fingerprints in localStorage survive a reload).
(function () {
  "use strict";
  var root = document.getElementById("uploader");
  var csrf = document.querySelector('meta[name="csrf-token"]').getAttribute("content");
  var limit = Number(root.getAttribute("data-limit"));
  var list = document.getElementById("uploads");
  var rowTemplate = document.getElementById("upload-row");
  var input = document.getElementById("files");
  var drop = document.getElementById("drop");
  var problem = document.getElementById("upload-error");
  var uploads = [];
  window.reelhouseUploads = uploads;

  function humanBytes(size) {
    var units = ["bytes", "KiB", "MiB", "GiB", "TiB"];
    var value = size;
    for (var i = 0; i < units.length; i++) {
      if (value < 1024 || i === units.length - 1) {
        return i === 0 ? Math.floor(value) + " bytes" : value.toFixed(1) + " " + units[i];
      }
      value /= 1024;
    }
  }

  // Same words as reelhouse.web.dashboard.too_large.
  function tooLarge(file) {
    if (file.size <= limit) return null;
    return file.name + " is " + humanBytes(file.size) + "; the limit is " +
      humanBytes(limit) + " (" + limit + " bytes).";
  }

  function fingerprint(file) {
    return Promise.resolve(["reelhouse", file.name, file.type, file.size,
      file.lastModified, window.location.host].join("-"));
  }

  function createUpload(file) {
    return fetch("/dashboard/api/uploads", {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
      body: JSON.stringify({ name: file.name, size: file.size })
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (body) {
        if (response.status === 401) throw new Error("Your session has ended: sign in again.");
        if (!response.ok) throw new Error(body.error || ("HTTP " + response.status));
        return body.url;
      });
    });
  }

  function Row(file) {
    var el = rowTemplate.content.firstElementChild.cloneNode(true);
    this.el = el;
    this.file = file;
    this.name = el.querySelector(".rh-upload-name");
    this.state = el.querySelector(".rh-upload-state");
    this.bar = el.querySelector(".rh-upload-progress");
    this.numbers = el.querySelector(".rh-upload-numbers");
    this.pauseButton = el.querySelector(".rh-pause");
    this.resumeButton = el.querySelector(".rh-resume");
    this.cancelButton = el.querySelector(".rh-cancel");
    this.link = el.querySelector(".rh-upload-link");
    this.name.textContent = file.name;
    this.bar.setAttribute("aria-label", "Upload of " + file.name);
    this.percent = 0;
    this.status = "waiting";
    list.appendChild(el);
  }

  Row.prototype.say = function (status, text) {
    this.status = status;
    this.el.setAttribute("data-state", status);
    this.state.textContent = text;
    var active = status === "uploading" || status === "starting";
    this.pauseButton.hidden = !active;
    this.resumeButton.hidden = status !== "paused" && status !== "failed";
    this.resumeButton.textContent = status === "failed" ? "Retry" : "Resume";
    this.cancelButton.hidden = status === "done" || status === "cancelled" || status === "refused";
  };

  Row.prototype.progress = function (sent, total) {
    var now = Date.now();
    if (this.lastAt && now > this.lastAt) {
      var rate = (sent - this.lastSent) * 1000 / (now - this.lastAt);
      this.speed = this.speed ? this.speed * 0.7 + rate * 0.3 : rate;
    }
    this.lastAt = now;
    this.lastSent = sent;
    this.percent = total ? Math.floor(sent * 100 / total) : 0;
    this.bar.value = this.percent;
    this.numbers.textContent = humanBytes(sent) + " of " + humanBytes(total) +
      (this.speed ? " · " + humanBytes(Math.max(0, this.speed)) + "/s" : "");
    this.say("uploading", this.percent + "%");
  };

  function start(file) {
    var row = new Row(file);
    uploads.push(row);
    var refusal = tooLarge(file);
    if (refusal) {
      row.say("refused", refusal);
      row.numbers.textContent = "Nothing was sent.";
      return;
    }
    row.say("starting", "Starting…");
    var upload = new tus.Upload(file, {
      endpoint: null,
      chunkSize: 8 * 1024 * 1024,
      retryDelays: [0, 1000, 3000, 5000, 10000, 20000],
      metadata: { filename: file.name, filetype: file.type },
      fingerprint: fingerprint,
      storeFingerprintForResuming: true,
      removeFingerprintOnSuccess: true,
      onProgress: function (sent, total) { row.progress(sent, total); },
      onError: function (error) {
        row.say("failed", "Failed: " + (error && error.message ? error.message : error));
      },
      onSuccess: function () {
        row.bar.value = 100;
        row.percent = 100;
        row.say("done", "100% · uploaded: processing starts now");
        row.link.href = "/";
        row.link.hidden = false;
      }
    });
    row.upload = upload;
    row.pauseButton.addEventListener("click", function () {
      upload.abort();
      row.say("paused", "Paused at " + row.percent + "%");
      row.resumeButton.focus();
    });
    row.resumeButton.addEventListener("click", function () {
      row.say("uploading", row.percent + "%");
      upload.start();
      row.pauseButton.focus();
    });
    row.cancelButton.addEventListener("click", function () {
      upload.abort(true).catch(function () { /* already gone */ });
      row.say("cancelled", "Cancelled");
    });
    upload.findPreviousUploads().then(function (previous) {
      if (previous.length) {
        upload.resumeFromPreviousUpload(previous[0]);
        row.say("uploading", "Resuming…");
        upload.start();
        return null;
      }
      return createUpload(file).then(function (url) {
        upload.options.endpoint = url;
        if (row.status !== "cancelled") upload.start();
      });
    }).catch(function (error) { row.say("failed", error.message || String(error)); });
  }

  function take(files) {
    problem.hidden = true;
    if (typeof tus === "undefined" || !tus.isSupported) {
      problem.textContent = "Uploads need tus-js-client (run `make install`) and a modern browser.";
      problem.hidden = false;
      return;
    }
    Array.prototype.forEach.call(files, start);
  }

  input.addEventListener("change", function () { take(input.files); input.value = ""; });
  drop.addEventListener("keydown", function (event) {
    if (event.key === "Enter" || event.key === " ") { event.preventDefault(); input.click(); }
  });
  ["dragenter", "dragover"].forEach(function (name) {
    drop.addEventListener(name, function (event) {
      event.preventDefault();
      drop.classList.add("is-over");
    });
  });
  ["dragleave", "drop"].forEach(function (name) {
    drop.addEventListener(name, function () { drop.classList.remove("is-over"); });
  });
  drop.addEventListener("drop", function (event) {
    event.preventDefault();
    if (event.dataTransfer && event.dataTransfer.files) take(event.dataTransfer.files);
  });
})();

// The upload page: each dropped file gets a direct upload from the dashboard, then
// tus-js-client sends it there, resumably (fingerprints in localStorage survive a reload).
// Retries are this page's rather than tus-js-client's, so that a wait can follow the server's
// Retry-After and the row can say what it is waiting for.
(function () {
  "use strict";
  var root = document.getElementById("uploader");
  var csrf = document.querySelector('meta[name="csrf-token"]').getAttribute("content");
  var limit = Number(root.getAttribute("data-limit"));
  var extensions = root.getAttribute("data-extensions").split(" ");
  var mediaTypes = root.getAttribute("data-media-types").split(" ");
  var list = document.getElementById("uploads");
  var rowTemplate = document.getElementById("upload-row");
  var input = document.getElementById("files");
  var drop = document.getElementById("drop");
  var problem = document.getElementById("upload-error");
  var uploads = [];
  window.reelhouseUploads = uploads;

  var CHUNK_BYTES = 8 * 1024 * 1024;
  // The wait before each automatic retry in a row of failures; a longer Retry-After wins.
  // Any progress in between starts the row again.
  var RETRY_DELAYS = [0, 1000, 3000, 5000, 10000, 20000];
  var RATE_LIMIT_WAIT = 5000;   // a 429 without Retry-After
  var SPEED_WINDOW = 5000;      // the speed is the average over this many milliseconds

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

  function humanLeft(ms) {
    var seconds = ms / 1000;
    if (seconds < 10) return "a few seconds left";
    if (seconds < 60) return "about " + Math.max(10, Math.round(seconds / 5) * 5) + " s left";
    var minutes = Math.round(seconds / 60);
    if (minutes < 60) return "about " + minutes + " min left";
    var rest = minutes % 60;
    return "about " + Math.floor(minutes / 60) + " h" + (rest ? " " + rest + " min" : "") + " left";
  }

  // Same words as reelhouse.web.upload_page.too_large.
  function tooLarge(file) {
    if (file.size <= limit) return null;
    return file.name + " is " + humanBytes(file.size) + "; the limit is " +
      humanBytes(limit) + " (" + limit + " bytes).";
  }

  // Same rule and words as reelhouse.web.upload_page.not_a_video, with the lists it gives.
  function notVideo(file) {
    var kind = (file.type || "").trim().toLowerCase();
    if (!kind || /^(video|audio)\//.test(kind) || mediaTypes.indexOf(kind) >= 0) return null;
    var dot = file.name.lastIndexOf(".");
    var extension = dot >= 0 ? file.name.slice(dot + 1).toLowerCase() : "";
    if (extension && extensions.indexOf(extension) >= 0) return null;
    return file.name + " is not a video file (" + kind +
      "). Choose a video such as .mp4, .mov, .mkv or .webm.";
  }

  function fingerprint(file) {
    return Promise.resolve(["reelhouse", file.name, file.type, file.size,
      file.lastModified, window.location.host].join("-"));
  }

  // Retry-After in seconds (a number or an HTTP date), or null.
  function retryAfter(value) {
    if (!value) return null;
    var seconds = Number(value);
    if (!isNaN(seconds)) return Math.max(0, seconds);
    var at = Date.parse(value);
    return isNaN(at) ? null : Math.max(0, (at - Date.now()) / 1000);
  }

  // The server's own words from an error body: the dashboard's {"error": "..."} or the upload
  // endpoint's {"error": {"messages": ["..."]}}.
  function serverWords(text) {
    try {
      var body = JSON.parse(text);
      var error = body && body.error;
      if (typeof error === "string") return error;
      if (error && error.messages && error.messages.length) return String(error.messages[0]);
    } catch (ignored) { /* not JSON */ }
    return "";
  }

  // What went wrong: {status, retryAfter, words}. status is 0 when no answer came (the
  // connection failed) and -1 for failures that are not about HTTP at all.
  function describe(error) {
    var response = error && error.originalResponse;
    if (response) {
      return {
        status: response.getStatus(),
        retryAfter: retryAfter(response.getHeader("Retry-After")),
        words: serverWords(response.getBody() || "")
      };
    }
    if (error && typeof error.status === "number") {
      return { status: error.status, retryAfter: error.retryAfter, words: error.message };
    }
    if (error && error.originalRequest) return { status: 0, retryAfter: null, words: "" };
    var words = error && error.message ? error.message : String(error);
    return { status: -1, retryAfter: null, words: words };
  }

  function retryable(status) {
    return status === 0 || status === 408 || status === 409 || status === 423 || status === 429 ||
      status >= 500;
  }

  function waitingText(what, seconds) {
    var when = seconds > 0 ? "retrying in " + seconds + " s" : "retrying now…";
    if (what.status === 0) return "Connection lost: retrying…";
    if (what.status === 429) return "Too many uploads right now: " + when;
    if (what.status === 409 || what.status === 423) {
      return "The server is still busy with this upload: " + when;
    }
    return "The server had a problem (HTTP " + what.status + "): " + when;
  }

  function finalText(what, file) {
    var status = what.status;
    if (status === 0) return "Connection lost: check the network, then press Retry.";
    if (status === 401) return "Your session has ended: sign in again, then press Retry.";
    if (status === 404 || status === 410) {
      return "This upload expired or was cancelled: start it again";
    }
    if (status === 413) {
      return tooLarge(file) || what.words ||
        file.name + " is too large for the server (HTTP 413).";
    }
    if (status === 429) return "Rate limited by the server: try again in a minute";
    if (status >= 500) return "The server kept failing (HTTP " + status + "): try again later.";
    if (status > 0) return what.words || "The server refused this upload (HTTP " + status + ").";
    return "Failed: " + what.words;
  }

  function createUpload(file) {
    return fetch("/dashboard/api/uploads", {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
      body: JSON.stringify({ name: file.name, size: file.size, type: file.type })
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (body) {
        if (response.ok) return body.url;
        var error = new Error(body.error || "");
        error.status = response.status;
        error.retryAfter = retryAfter(response.headers.get("Retry-After"));
        throw error;
      });
    }, function () {
      var lost = new Error("The dashboard did not answer.");
      lost.status = 0;  // no answer at all: the connection failed
      throw lost;
    });
  }

  // Bytes per second over the last few seconds of progress; 0 until a second has been seen.
  function Meter() { this.samples = []; }
  Meter.prototype.reset = function () { this.samples = []; };
  Meter.prototype.add = function (sent, now) {
    var samples = this.samples;
    if (samples.length && sent < samples[samples.length - 1].sent) samples.length = 0;
    samples.push({ at: now, sent: sent });
    while (samples.length > 2 && now - samples[1].at >= SPEED_WINDOW) samples.shift();
  };
  Meter.prototype.rate = function () {
    var samples = this.samples;
    if (samples.length < 2) return 0;
    var first = samples[0], last = samples[samples.length - 1];
    var span = last.at - first.at;
    return span >= 1000 ? (last.sent - first.sent) * 1000 / span : 0;
  };

  function Row(file) {
    var el = rowTemplate.content.firstElementChild.cloneNode(true);
    this.el = el;
    this.file = file;
    this.name = el.querySelector(".rh-upload-name");
    this.state = el.querySelector(".rh-upload-state");
    this.bar = el.querySelector(".rh-upload-progress");
    this.numbers = el.querySelector(".rh-upload-numbers");
    this.eta = el.querySelector(".rh-upload-eta");
    this.pauseButton = el.querySelector(".rh-pause");
    this.resumeButton = el.querySelector(".rh-resume");
    this.cancelButton = el.querySelector(".rh-cancel");
    this.link = el.querySelector(".rh-upload-link");
    this.name.textContent = file.name;
    this.bar.setAttribute("aria-label", "Upload of " + file.name);
    this.percent = 0;
    this.status = "waiting";
    this.meter = new Meter();
    this.attempt = 0;        // automatic retries since the last progress
    this.accepted = 0;       // bytes the server has acknowledged
    this.acceptedAtTrouble = 0;
    this.timer = null;
    list.appendChild(el);
  }

  var RESUME_LABELS = { paused: "Resume", failed: "Retry", expired: "Start again" };

  Row.prototype.say = function (status, text) {
    this.status = status;
    this.el.setAttribute("data-state", status);
    this.state.textContent = text;
    this.pauseButton.hidden = status !== "uploading" && status !== "retrying";
    this.resumeButton.hidden = !RESUME_LABELS[status];
    this.resumeButton.textContent = RESUME_LABELS[status] || "Resume";
    this.cancelButton.hidden = status === "done" || status === "cancelled" || status === "refused";
    if (status !== "uploading") this.eta.hidden = true;
  };

  Row.prototype.progress = function (sent, total) {
    var now = Date.now();
    this.meter.add(sent, now);
    var speed = this.meter.rate();
    this.percent = total ? Math.floor(sent * 100 / total) : 0;
    this.bar.value = this.percent;
    this.numbers.textContent = humanBytes(sent) + " of " + humanBytes(total) +
      (speed ? " · " + humanBytes(speed) + "/s" : "");
    this.say("uploading", this.percent + "%");
    // Unknown until a second of progress has been seen; the rounding keeps the words steady.
    this.eta.hidden = !speed || sent >= total;
    if (!this.eta.hidden) this.eta.textContent = humanLeft((total - sent) * 1000 / speed);
  };

  Row.prototype.makeUpload = function () {
    var row = this;
    row.upload = new tus.Upload(row.file, {
      endpoint: null,
      chunkSize: CHUNK_BYTES,
      retryDelays: null,
      metadata: { filename: row.file.name, filetype: row.file.type },
      fingerprint: fingerprint,
      storeFingerprintForResuming: true,
      removeFingerprintOnSuccess: true,
      onProgress: function (sent, total) { row.progress(sent, total); },
      onChunkComplete: function (size, accepted) { row.accepted = accepted; },
      onError: function (error) { row.trouble(error); },
      onSuccess: function () {
        row.bar.value = 100;
        row.percent = 100;
        row.say("done", "100% · uploaded: processing starts now");
        row.link.href = "/";
        row.link.hidden = false;
      }
    });
  };

  // Send the file: to the upload it already has, else to a new direct upload.
  Row.prototype.begin = function () {
    var row = this;
    row.meter.reset();
    if (row.upload.url || row.upload.options.endpoint) {
      row.upload.start();
      return;
    }
    if (row.status !== "retrying") row.say("starting", "Starting…");
    createUpload(row.file).then(function (url) {
      row.upload.options.endpoint = url;
      if (row.status === "starting" || row.status === "retrying") row.upload.start();
    }, function (error) {
      if (row.status === "starting" || row.status === "retrying") row.trouble(error);
    });
  };

  Row.prototype.trouble = function (error) {
    var what = describe(error);
    if (this.accepted > this.acceptedAtTrouble) this.attempt = 0;
    this.acceptedAtTrouble = this.accepted;
    if (retryable(what.status) && this.attempt < RETRY_DELAYS.length) {
      var delay = RETRY_DELAYS[this.attempt++];
      var asked = what.retryAfter ? what.retryAfter * 1000 : 0;
      if (what.status === 429 && what.retryAfter == null) asked = RATE_LIMIT_WAIT;
      this.retryIn(what, Math.max(delay, asked));
      return;
    }
    var status = what.status;
    var terminal = status === 413 || status === 415;
    this.say(terminal ? "refused" : status === 404 || status === 410 ? "expired" : "failed",
      finalText(what, this.file));
  };

  // Count down, saying why, then try again.
  Row.prototype.retryIn = function (what, delay) {
    var row = this;
    var due = Date.now() + delay;
    function tick() {
      var left = due - Date.now();
      var seconds = Math.ceil(left / 1000);
      row.say("retrying", waitingText(what, seconds));
      if (left <= 0) {
        row.timer = null;
        row.begin();
        return;
      }
      row.timer = setTimeout(tick, left - (seconds - 1) * 1000);
    }
    tick();
  };

  Row.prototype.stopWaiting = function () {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  };

  // After a 404 or 410 the upload is gone: a new direct upload, from the first byte.
  Row.prototype.startAgain = function () {
    this.accepted = this.acceptedAtTrouble = this.attempt = this.percent = 0;
    this.bar.value = 0;
    this.numbers.textContent = "";
    this.makeUpload();
    this.begin();
  };

  function newest(previous) {
    return previous.reduce(function (best, entry) {
      return !best || Date.parse(entry.creationTime) > Date.parse(best.creationTime) ? entry : best;
    }, null);
  }

  function start(file) {
    var row = new Row(file);
    uploads.push(row);
    var refusal = notVideo(file) || tooLarge(file);
    if (refusal) {
      row.say("refused", refusal);
      row.numbers.textContent = "Nothing was sent.";
      return;
    }
    row.say("starting", "Starting…");
    row.makeUpload();
    row.pauseButton.addEventListener("click", function () {
      row.stopWaiting();
      row.upload.abort();
      row.say("paused", "Paused at " + row.percent + "%");
      row.resumeButton.focus();
    });
    row.resumeButton.addEventListener("click", function () {
      var expired = row.status === "expired";
      row.attempt = 0;
      row.say("uploading", row.percent + "%");
      if (expired) row.startAgain(); else row.begin();
      row.pauseButton.focus();
    });
    row.cancelButton.addEventListener("click", function () {
      row.stopWaiting();
      row.upload.abort(true).catch(function () { /* already gone */ });
      row.say("cancelled", "Cancelled");
    });
    row.upload.findPreviousUploads().then(function (previous) {
      if (row.status !== "starting") return;
      if (previous.length) {
        row.upload.resumeFromPreviousUpload(newest(previous));
        row.say("uploading", "Resuming where it stopped…");
      }
      row.begin();
    }).catch(function (error) { row.trouble(error); });
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

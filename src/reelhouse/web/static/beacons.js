/* reelhouse view beacons: watches a <video> element and reports each view to POST /beacon
 * (the format is in docs/analytics.md). window.ReelhouseBeacons.track(video, options) returns a
 * tracker; the player tells it what the element cannot (quality switches, fatal errors).
 *
 * A view starts when playback is requested (the element's `play` event) or a fatal error
 * happens first; it ends when the video ends, a fatal error stops it, or the page goes away.
 * Times are the player's own clock (performance.now()), never the viewer's wall clock. Batches
 * go out one at a time, in order; a failed one is retried (the server applies each seq once).
 * Nothing here may break playback: every entry point swallows its own errors. */
(function () {
  "use strict";

  var HEARTBEAT_MS = 10000;
  var COALESCE_MS = 1000;
  var RETRY_MS = [2000, 5000, 15000, 60000];
  var MAX_BATCH = 20;
  var MAX_QUEUE = 200;
  var MAX_ELAPSED_MS = 24 * 3600 * 1000;
  var MAX_WATCHED_S = 3600;
  var IDLE_VIEW_MS = 3600 * 1000;  // paused longer than this: playing again is a new view

  function uuid4() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    var bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    var hex = Array.prototype.map.call(bytes, function (b) { return (b + 0x100).toString(16).slice(1); }).join("");
    return hex.slice(0, 8) + "-" + hex.slice(8, 12) + "-" + hex.slice(12, 16) + "-" + hex.slice(16, 20) + "-" + hex.slice(20);
  }

  function seconds(value) {
    return isFinite(value) && value > 0 ? Math.round(value * 1000) / 1000 : 0;
  }

  function clip(text, length) {
    return text == null ? undefined : String(text).slice(0, length);
  }

  function safely(fn) {
    return function () {
      try {
        return fn.apply(this, arguments);
      } catch (err) {
        // Analytics must never break playback.
        if (window.console && console.debug) console.debug("reelhouse beacons:", err);
      }
    };
  }

  function track(video, options) {
    var endpoint = options.endpoint;
    var playbackId = options.playbackId;
    var playerName = clip(options.player || "reelhouse", 64);

    var view = null;        // the view in progress (see startView), or none
    var queue = [];         // [{viewId, event}] not yet acknowledged, oldest first
    var sending = false;
    var disabled = false;   // the server does not know this playback id
    var flushTimer = null;
    var retryTimer = null;
    var failures = 0;
    var heartbeatTimer = null;
    var pausedAt = null;
    var seeking = false;
    var counts = { sent: 0, accepted: 0, failed: 0 };

    function now() { return performance.now(); }

    function elapsed() {
      return Math.max(0, Math.min(MAX_ELAPSED_MS, Math.round(now() - view.startedAt)));
    }

    function push(type, fields) {
      if (!view || disabled) return;
      var event = { type: type, seq: view.seq++, elapsed_ms: elapsed() };
      for (var key in fields) if (fields[key] !== undefined) event[key] = fields[key];
      queue.push({ viewId: view.id, event: event });
      if (queue.length > MAX_QUEUE) queue.splice(0, queue.length - MAX_QUEUE);
    }

    function startView() {
      if (view || disabled) return;
      view = { id: uuid4(), startedAt: now(), seq: 0, firstFrame: false, awaitingFrame: false,
        rebuffering: false, watchedMs: 0, watchingSince: null, playhead: seconds(video.currentTime) };
      push("viewstart");
      heartbeatTimer = setInterval(safely(heartbeat), HEARTBEAT_MS);
      schedule();
    }

    function startWatching() {
      if (view && view.watchingSince === null) view.watchingSince = now();
    }

    function stopWatching() {
      if (!view || view.watchingSince === null) return;
      view.watchedMs += now() - view.watchingSince;
      view.watchingSince = null;
    }

    /* Watch time since the last heartbeat: playing, or trying to (startup, rebuffering). */
    function takeWatched() {
      var total = view.watchedMs;
      if (view.watchingSince !== null) {
        var at = now();
        total += at - view.watchingSince;
        view.watchingSince = at;
      }
      view.watchedMs = 0;
      return total / 1000;
    }

    function pushHeartbeat() {
      if (!view) return;
      var watched = takeWatched();
      var playhead = seconds(video.currentTime);
      if (watched <= 0 && playhead === view.playhead) return;
      view.playhead = playhead;
      push("heartbeat", { watched_seconds: Math.min(MAX_WATCHED_S, seconds(watched)), playhead: playhead });
    }

    function heartbeat() {
      pushHeartbeat();
      send();
    }

    function endRebuffer() {
      if (view && view.rebuffering) {
        view.rebuffering = false;
        push("rebufferend");
        schedule();
      }
    }

    function endView(final) {
      if (!view) return;
      endRebuffer();
      stopWatching();
      pushHeartbeat();
      push("ended");
      clearInterval(heartbeatTimer);
      view = null;
      if (final) sendFinal(); else send();
    }

    /* ---- transport ---- */

    function schedule() {
      if (flushTimer === null) flushTimer = setTimeout(safely(function () { flushTimer = null; send(); }), COALESCE_MS);
    }

    /* The oldest events of one view, at most MAX_BATCH of them, taken off the front of `from`. */
    function takeBatch(from) {
      var taken = [from.shift()];
      while (from.length && taken.length < MAX_BATCH && from[0].viewId === taken[0].viewId) taken.push(from.shift());
      return taken;
    }

    function body(taken) {
      return JSON.stringify({ view_id: taken[0].viewId, playback_id: playbackId, player: playerName,
        events: taken.map(function (item) { return item.event; }) });
    }

    function send() {
      if (sending || retryTimer !== null || disabled || !queue.length) return;
      var taken = takeBatch(queue.slice());
      var request;
      try {
        request = fetch(endpoint, {
          method: "POST",
          headers: { "Content-Type": "application/json" },
          body: body(taken),
          credentials: "omit",
          keepalive: true,
        });
      } catch (err) {
        return;  // no fetch here: no analytics, and nothing else changes
      }
      sending = true;
      counts.sent += 1;
      request.then(function (response) {
        if (response.status === 404) {
          disabled = true;  // nothing to file views under: stop sending
          queue = [];
        } else if (response.ok || (response.status < 500 && response.status !== 429)) {
          // Accepted, or refused for good (400, 409, 413): either way, never send them again.
          if (response.ok) counts.accepted += 1; else counts.failed += 1;
          queue = queue.filter(function (item) { return taken.indexOf(item) < 0; });
          failures = 0;
        } else {
          throw new Error("beacon answered " + response.status);
        }
      }).catch(function () {
        counts.failed += 1;
        var wait = RETRY_MS[Math.min(failures, RETRY_MS.length - 1)];
        failures += 1;
        retryTimer = setTimeout(safely(function () { retryTimer = null; send(); }), wait);
      }).then(safely(function () {
        sending = false;
        if (queue.length && retryTimer === null) send();
      }));
    }

    /* The page is going away: hand everything not yet acknowledged to the browser, which
     * delivers it after the page is gone. Events already in flight go again: replays are
     * harmless, and they may reach the server after the later ones would. */
    function sendFinal() {
      if (disabled) return;
      var rest = queue.slice();
      while (rest.length) {
        var text = body(takeBatch(rest));
        var queued = false;
        if (navigator.sendBeacon) {
          // text/plain: sendBeacon's blob needs no preflight; the server takes it as JSON.
          queued = navigator.sendBeacon(endpoint, new Blob([text], { type: "text/plain;charset=UTF-8" }));
        }
        if (!queued) {
          fetch(endpoint, { method: "POST", headers: { "Content-Type": "application/json" },
            body: text, credentials: "omit", keepalive: true }).catch(function () {});
        }
        counts.sent += 1;
      }
    }

    /* ---- what the element says ---- */

    var on = function (name, handler) { video.addEventListener(name, safely(handler)); };

    on("play", function () {
      if (view && pausedAt !== null && now() - pausedAt > IDLE_VIEW_MS) endView(false);
      pausedAt = null;
      startView();
      startWatching();
    });
    on("playing", function () {
      if (!view) return;
      endRebuffer();
      if (view.firstFrame || view.awaitingFrame) return;
      var current = view;
      current.awaitingFrame = true;
      var shown = safely(function () {
        if (view !== current || current.firstFrame) return;
        current.firstFrame = true;
        push("firstframe");
        send();
      });
      // `playing` says playback can start; the frame itself is on screen a moment later.
      // (Audio alone presents no frames: playing is as good as it gets.)
      if (video.requestVideoFrameCallback && video.videoWidth > 0) video.requestVideoFrameCallback(shown);
      else shown();
    });
    on("waiting", function () {
      // Not a rebuffer: the initial load (before the first frame) or a seek.
      if (!view || !view.firstFrame || view.rebuffering || seeking || video.seeking || video.paused) return;
      view.rebuffering = true;
      push("rebufferstart");
      schedule();
    });
    on("seeking", function () {
      seeking = true;
      // Before the first frame a seek is the player finding its start position, not the viewer.
      if (!view || !view.firstFrame) return;
      endRebuffer();
      push("seek", { playhead: seconds(video.currentTime) });
      schedule();
    });
    on("seeked", function () { seeking = false; });
    on("pause", function () {
      if (!view) return;
      pausedAt = now();
      endRebuffer();
      stopWatching();
      if (!video.ended) heartbeat();
    });
    on("ended", function () { endView(false); });

    var onPage = function (target, name, handler) { target.addEventListener(name, safely(handler)); };
    onPage(document, "visibilitychange", function () {
      // Often the last moment a mobile page can send anything: report what was watched.
      if (document.visibilityState !== "hidden") return;
      pushHeartbeat();
      sendFinal();
    });
    onPage(window, "pagehide", function () { endView(true); });

    return {
      qualityChanged: safely(function (rendition) {
        if (view) { push("qualitychange", { rendition: clip(rendition, 64) }); schedule(); }
      }),
      failed: safely(function (code, message) {
        // A fatal error is a view even when playback was never requested (a failed load).
        startView();
        stopWatching();
        push("error", { code: clip(code, 64), message: clip(message, 500) });
        endView(false);
      }),
      disable: safely(function () { disabled = true; queue = []; endView(false); }),
      get viewId() { return view ? view.id : null; },
      get pending() { return queue.length; },
      get counts() { return { sent: counts.sent, accepted: counts.accepted, failed: counts.failed }; },
    };
  }

  window.ReelhouseBeacons = { track: track };
})();

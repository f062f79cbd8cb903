/* reelhouse embed player: hls.js (or native HLS) behind a small accessible control bar.
 * Reads its configuration from the data- attributes of #player (the page's CSP forbids inline
 * script) and exposes window.reelhousePlayer for scripts and tests. With data-beacon set (and
 * beacons.js loaded first) it reports views there; see docs/analytics.md. */
(function () {
  "use strict";

  var root = document.getElementById("player");
  if (!root) return;
  var video = root.querySelector(".rh-video");
  var $ = function (sel) { return root.querySelector(sel); };
  var ui = {
    message: $(".rh-message"),
    bigPlay: $(".rh-bigplay"),
    play: $(".rh-play"),
    mute: $(".rh-mute"),
    volume: $(".rh-volume"),
    seek: $(".rh-seekbar"),
    current: $(".rh-current"),
    duration: $(".rh-duration"),
    preview: $(".rh-preview"),
    previewImage: $(".rh-preview-image"),
    previewTime: $(".rh-preview-time"),
    quality: $(".rh-quality"),
    qualityButton: $(".rh-quality-button"),
    qualityMenu: $(".rh-quality-menu"),
    fullscreen: $(".rh-fullscreen"),
  };
  var config = {
    playbackId: root.dataset.playbackId,
    src: root.dataset.src,
    storyboard: root.dataset.storyboard || null,
    autoplay: root.dataset.autoplay === "true",
    muted: root.dataset.muted === "true",
    loop: root.dataset.loop === "true",
    beacon: root.dataset.beacon || null,
  };
  var SEEK_STEP = 5;
  var VOLUME_STEP = 0.1;
  var RETRY_NOT_READY_MS = 5000;
  var MESSAGES = {
    400: "This is not a valid video link",
    403: "This video needs a valid signed link",
    404: "This video does not exist",
    412: "This video is still being prepared",
    asset_errored: "This video could not be processed",
    network: "The video could not be loaded. Check your connection and try again",
    media: "This video cannot be played in this browser",
    unsupported: "This browser cannot play this video",
  };

  var state = "loading";
  var hls = null;
  var fatalErrors = [];
  var storyboard = null;
  var errorInfo = null;
  var retryTimer = null;
  var recoveredMedia = false;
  var beacons = startBeacons();

  function startBeacons() {
    if (!config.beacon || !window.ReelhouseBeacons) return null;
    try {
      return window.ReelhouseBeacons.track(video, {
        endpoint: config.beacon, playbackId: config.playbackId, player: "reelhouse",
      });
    } catch (err) {
      return null;  // no analytics, but the video still plays
    }
  }

  function setState(next) {
    state = next;
    root.dataset.state = next;
    root.classList.toggle("is-loading", next === "loading");
    root.classList.toggle("is-playing", next === "playing");
    root.classList.toggle("has-error", next === "error" || next === "preparing");
  }

  function showMessage(text) {
    ui.message.textContent = text;
    ui.message.hidden = !text;
  }

  function fail(nextState, text, info) {
    errorInfo = info || null;
    setState(nextState);
    showMessage(text);
    if (beacons && nextState === "error") {
      // An unknown playback id has nowhere to file a view; anything else is a failed view.
      if (info && info.status === 404) beacons.disable();
      else beacons.failed(errorCode(info), text);
    }
  }

  function errorCode(info) {
    if (info && info.type) return String(info.type);
    if (info && info.status && info.status !== 200) return "http_" + info.status;
    return "network";
  }

  function formatTime(seconds) {
    if (!isFinite(seconds) || seconds < 0) seconds = 0;
    var s = Math.floor(seconds % 60);
    var m = Math.floor(seconds / 60) % 60;
    var h = Math.floor(seconds / 3600);
    var mm = h ? String(m).padStart(2, "0") : String(m);
    return (h ? h + ":" : "") + mm + ":" + String(s).padStart(2, "0");
  }

  /* ---- loading and errors ---- */

  function explainFailure() {
    // hls.js reports only the status; the body says "not ready" from "errored".
    return fetch(config.src, { credentials: "same-origin", cache: "no-store" }).then(
      function (response) {
        if (response.ok) return { status: 200, type: null };
        return response.json().then(
          function (body) { return { status: response.status, type: body && body.error && body.error.type }; },
          function () { return { status: response.status, type: null }; }
        );
      },
      function () { return { status: 0, type: null }; }
    );
  }

  function onLoadFailure() {
    explainFailure().then(function (found) {
      if (found.status === 200) {
        fail("error", MESSAGES.network, found);
      } else if (found.status === 412 && found.type !== "asset_errored") {
        fail("preparing", MESSAGES[412], found);
        clearTimeout(retryTimer);
        retryTimer = setTimeout(pollUntilReady, RETRY_NOT_READY_MS);
      } else if (found.type === "asset_errored") {
        fail("error", MESSAGES.asset_errored, found);
      } else {
        fail("error", MESSAGES[found.status] || MESSAGES.network, found);
      }
    });
  }

  function pollUntilReady() {
    explainFailure().then(function (found) {
      if (found.status === 200) {
        showMessage("");
        errorInfo = null;
        setState("loading");
        load();
      } else if (found.status === 412 && found.type !== "asset_errored") {
        retryTimer = setTimeout(pollUntilReady, RETRY_NOT_READY_MS);
      } else {
        onLoadFailure();
      }
    });
  }

  function load() {
    var Hls = window.Hls;
    if (Hls && Hls.isSupported()) {
      if (hls) hls.destroy();
      // No worker: the page's CSP allows no blob: scripts, and VOD does not need one.
      hls = new Hls({ enableWorker: false, capLevelToPlayerSize: true });
      hls.on(Hls.Events.ERROR, function (event, data) {
        if (!data.fatal) return;
        fatalErrors.push({ type: data.type, details: data.details, code: data.response && data.response.code });
        if (data.type === Hls.ErrorTypes.MEDIA_ERROR && !recoveredMedia) {
          recoveredMedia = true;
          hls.recoverMediaError();
          return;
        }
        if (data.type === Hls.ErrorTypes.NETWORK_ERROR) {
          onLoadFailure();
        } else {
          fail("error", MESSAGES.media, { type: data.details });
        }
      });
      hls.on(Hls.Events.MANIFEST_PARSED, function () { buildQualityMenu(); ready(); });
      hls.on(Hls.Events.LEVEL_SWITCHED, function (event, data) {
        updateQualityLabel();
        var level = hls.levels[data.level];
        if (beacons && level) beacons.qualityChanged(levelLabel(level));
      });
      hls.loadSource(config.src);
      hls.attachMedia(video);
    } else if (video.canPlayType("application/vnd.apple.mpegurl")) {
      video.src = config.src;
      video.addEventListener("loadedmetadata", ready, { once: true });
      video.addEventListener("error", onLoadFailure, { once: true });
    } else {
      fail("error", MESSAGES.unsupported, { type: "unsupported" });
    }
  }

  function ready() {
    if (state === "loading") setState("paused");
    if (config.autoplay) play();
  }

  /* ---- playback ---- */

  function play() {
    var promise = video.play();
    if (promise && promise.catch) {
      promise.catch(function () {
        // Autoplay with sound is refused until the viewer interacts: try muted once.
        if (!video.muted) {
          video.muted = true;
          video.play().catch(function () {});
        }
      });
    }
  }

  function togglePlay() {
    if (state === "error" || state === "preparing") return;
    if (video.paused || video.ended) play();
    else video.pause();
  }

  function seekTo(seconds) {
    var end = isFinite(video.duration) ? video.duration : seconds;
    video.currentTime = Math.max(0, Math.min(seconds, end));
    updateTime();
  }

  function setVolume(value) {
    video.volume = Math.max(0, Math.min(1, value));
    if (video.volume > 0) video.muted = false;
  }

  function toggleFullscreen() {
    var doc = document;
    if (doc.fullscreenElement || doc.webkitFullscreenElement) {
      (doc.exitFullscreen || doc.webkitExitFullscreen).call(doc);
    } else if (root.requestFullscreen) {
      root.requestFullscreen().catch(function () {});
    } else if (root.webkitRequestFullscreen) {
      root.webkitRequestFullscreen();
    } else if (video.webkitEnterFullscreen) {
      video.webkitEnterFullscreen();  // iPhone: only the video element can go full screen
    }
  }

  /* ---- rendering ---- */

  function updateTime() {
    var duration = isFinite(video.duration) ? video.duration : 0;
    ui.seek.max = String(duration);
    ui.seek.value = String(video.currentTime);
    ui.current.textContent = formatTime(video.currentTime);
    ui.duration.textContent = formatTime(duration);
    ui.seek.setAttribute("aria-valuetext", formatTime(video.currentTime) + " of " + formatTime(duration));
    var percent = duration ? (video.currentTime / duration) * 100 : 0;
    ui.seek.style.setProperty("--rh-progress", percent + "%");
  }

  function updatePlayButton() {
    var label = video.paused ? "Play" : "Pause";
    ui.play.setAttribute("aria-label", label);
    ui.play.title = label + " (k)";
  }

  function updateVolume() {
    var muted = video.muted || video.volume === 0;
    root.classList.toggle("is-muted", muted);
    ui.mute.setAttribute("aria-label", muted ? "Unmute" : "Mute");
    ui.mute.title = (muted ? "Unmute" : "Mute") + " (m)";
    ui.volume.value = String(video.muted ? 0 : video.volume);
    ui.volume.setAttribute("aria-valuetext", Math.round((video.muted ? 0 : video.volume) * 100) + "%");
  }

  /* ---- quality menu ---- */

  function levelLabel(level) {
    if (level.height) return level.height + "p";
    return Math.round(level.bitrate / 1000) + " kbps";
  }

  function buildQualityMenu() {
    var levels = hls ? hls.levels : [];
    ui.qualityMenu.textContent = "";
    if (!levels || levels.length < 2) {
      ui.quality.hidden = true;
      return;
    }
    var choices = levels
      .map(function (level, index) { return { index: index, label: levelLabel(level), height: level.height || 0, bitrate: level.bitrate }; })
      .sort(function (a, b) { return b.height - a.height || b.bitrate - a.bitrate; });
    choices.push({ index: -1, label: "Auto" });
    choices.forEach(function (choice) {
      var item = document.createElement("li");
      item.setAttribute("role", "menuitemradio");
      item.tabIndex = -1;
      item.dataset.level = String(choice.index);
      item.textContent = choice.label;
      item.addEventListener("click", function () { chooseLevel(choice.index); });
      ui.qualityMenu.appendChild(item);
    });
    ui.quality.hidden = false;
    updateQualityLabel();
  }

  function chooseLevel(index) {
    if (!hls) return;
    hls.currentLevel = index;  // -1: automatic (ABR)
    closeQualityMenu(true);
    updateQualityLabel();
  }

  function updateQualityLabel() {
    if (!hls || !hls.levels || !hls.levels.length) return;
    var auto = hls.autoLevelEnabled;
    var playing = hls.levels[hls.currentLevel >= 0 ? hls.currentLevel : hls.loadLevel];
    var text = auto ? "Auto" + (playing ? " (" + levelLabel(playing) + ")" : "") : levelLabel(playing);
    ui.qualityButton.textContent = text;
    ui.qualityButton.setAttribute("aria-label", "Quality: " + text);
    var chosen = auto ? -1 : hls.currentLevel;
    Array.prototype.forEach.call(ui.qualityMenu.children, function (item) {
      item.setAttribute("aria-checked", String(Number(item.dataset.level) === chosen));
    });
  }

  function openQualityMenu() {
    ui.qualityMenu.hidden = false;
    ui.qualityButton.setAttribute("aria-expanded", "true");
    var checked = ui.qualityMenu.querySelector('[aria-checked="true"]') || ui.qualityMenu.firstElementChild;
    if (checked) checked.focus();
  }

  function closeQualityMenu(refocus) {
    if (ui.qualityMenu.hidden) return;
    ui.qualityMenu.hidden = true;
    ui.qualityButton.setAttribute("aria-expanded", "false");
    if (refocus) ui.qualityButton.focus();
  }

  function onMenuKey(event) {
    var items = Array.prototype.slice.call(ui.qualityMenu.children);
    var at = items.indexOf(document.activeElement);
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      var step = event.key === "ArrowDown" ? 1 : -1;
      items[(at + step + items.length) % items.length].focus();
    } else if (event.key === "Enter" || event.key === " ") {
      if (at >= 0) chooseLevel(Number(items[at].dataset.level));
    } else if (event.key === "Escape" || event.key === "Tab") {
      closeQualityMenu(event.key === "Escape");
      if (event.key === "Tab") return;
    } else {
      return;
    }
    event.preventDefault();
    event.stopPropagation();
  }

  /* ---- storyboard previews ---- */

  function loadStoryboard() {
    if (!config.storyboard) return;
    fetch(config.storyboard, { credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (board) {
        if (!board || !board.url || !Array.isArray(board.tiles) || !board.tiles.length) return;
        var image = new URL(board.url, location.href);
        if (image.origin !== location.origin) {
          // The page's CSP allows images from this origin only: ask for the same sprite here.
          var name = image.pathname.split("/").pop();
          image = new URL("/image/" + config.playbackId + "/" + name + image.search, location.href);
        }
        board.tiles.sort(function (a, b) { return a.start - b.start; });
        storyboard = { url: image.href, width: board.tile_width, height: board.tile_height, tiles: board.tiles };
        ui.previewImage.style.backgroundImage = 'url("' + storyboard.url.replace(/"/g, "%22") + '")';
        ui.previewImage.style.width = storyboard.width + "px";
        ui.previewImage.style.height = storyboard.height + "px";
      })
      .catch(function () { storyboard = null; });  // previews are optional
  }

  function tileAt(seconds) {
    var tiles = storyboard.tiles;
    var found = tiles[0];
    for (var i = 0; i < tiles.length && tiles[i].start <= seconds; i++) found = tiles[i];
    return found;
  }

  function showPreview(event) {
    var duration = isFinite(video.duration) ? video.duration : 0;
    if (!duration) return;
    var box = ui.seek.getBoundingClientRect();
    var fraction = Math.max(0, Math.min(1, (event.clientX - box.left) / box.width));
    var seconds = fraction * duration;
    ui.previewTime.textContent = formatTime(seconds);
    ui.previewImage.hidden = !storyboard;
    if (storyboard) {
      var tile = tileAt(seconds);
      ui.previewImage.style.backgroundPosition = -tile.x + "px " + -tile.y + "px";
    }
    ui.preview.hidden = false;
    var half = ui.preview.offsetWidth / 2;
    var x = Math.max(half, Math.min(box.width - half, fraction * box.width));
    ui.preview.style.left = x + "px";
  }

  /* ---- wiring ---- */

  var hideTimer = null;
  function wake() {
    root.classList.remove("controls-hidden");
    clearTimeout(hideTimer);
    hideTimer = setTimeout(function () {
      if (!video.paused && ui.qualityMenu.hidden) root.classList.add("controls-hidden");
    }, 2500);
  }

  function isEditable(target) {
    return target && (target.isContentEditable || target.tagName === "TEXTAREA" ||
      (target.tagName === "INPUT" && target.type !== "range"));
  }

  function onKey(event) {
    if (event.defaultPrevented || event.altKey || event.ctrlKey || event.metaKey || isEditable(event.target)) return;
    var onButton = event.target && event.target.tagName === "BUTTON";
    var onVolume = event.target === ui.volume;
    switch (event.key) {
      case " ":
      case "Spacebar":
        if (onButton) return;  // the focused button's own activation
        togglePlay();
        break;
      case "k":
      case "K":
        togglePlay();
        break;
      case "ArrowLeft":
      case "ArrowRight":
        if (onVolume) return;
        seekTo(video.currentTime + (event.key === "ArrowRight" ? SEEK_STEP : -SEEK_STEP));
        break;
      case "ArrowUp":
      case "ArrowDown":
        setVolume((video.muted ? 0 : video.volume) + (event.key === "ArrowUp" ? VOLUME_STEP : -VOLUME_STEP));
        break;
      case "f":
      case "F":
        toggleFullscreen();
        break;
      case "m":
      case "M":
        video.muted = !video.muted;
        break;
      case "Home":
        seekTo(0);
        break;
      case "End":
        seekTo(video.duration);
        break;
      default:
        return;
    }
    event.preventDefault();
    wake();
  }

  video.muted = config.muted;
  video.loop = config.loop;
  video.controls = false;

  video.addEventListener("play", function () { setState("playing"); updatePlayButton(); wake(); });
  video.addEventListener("pause", function () { if (state === "playing") setState("paused"); updatePlayButton(); wake(); });
  video.addEventListener("ended", function () { setState("ended"); updatePlayButton(); });
  video.addEventListener("waiting", function () { root.classList.add("is-buffering"); });
  video.addEventListener("playing", function () { root.classList.remove("is-buffering"); });
  video.addEventListener("canplay", function () { root.classList.remove("is-buffering"); });
  video.addEventListener("timeupdate", updateTime);
  video.addEventListener("durationchange", updateTime);
  video.addEventListener("volumechange", updateVolume);
  video.addEventListener("click", togglePlay);
  video.addEventListener("dblclick", toggleFullscreen);

  ui.bigPlay.addEventListener("click", togglePlay);
  ui.play.addEventListener("click", togglePlay);
  ui.mute.addEventListener("click", function () { video.muted = !video.muted; });
  ui.volume.addEventListener("input", function () { setVolume(Number(ui.volume.value)); });
  ui.seek.addEventListener("input", function () { seekTo(Number(ui.seek.value)); });
  ui.seek.addEventListener("pointermove", showPreview);
  ui.seek.addEventListener("pointerleave", function () { ui.preview.hidden = true; });
  ui.fullscreen.addEventListener("click", toggleFullscreen);
  ui.qualityButton.addEventListener("click", function () {
    if (ui.qualityMenu.hidden) openQualityMenu(); else closeQualityMenu(true);
  });
  ui.qualityMenu.addEventListener("keydown", onMenuKey);
  document.addEventListener("click", function (event) {
    if (!ui.quality.contains(event.target)) closeQualityMenu(false);
  });
  document.addEventListener("keydown", onKey);
  root.addEventListener("pointermove", wake);
  document.addEventListener("fullscreenchange", function () {
    var on = Boolean(document.fullscreenElement);
    root.classList.toggle("is-fullscreen", on);
    ui.fullscreen.setAttribute("aria-label", on ? "Exit full screen" : "Full screen");
  });

  window.reelhousePlayer = {
    get state() { return state; },
    get currentTime() { return video.currentTime; },
    get duration() { return video.duration; },
    get error() { return errorInfo; },
    get fatalErrors() { return fatalErrors.slice(); },
    get levels() {
      return hls ? hls.levels.map(function (level) { return { height: level.height, bitrate: level.bitrate }; }) : [];
    },
    get currentLevel() { return hls ? hls.currentLevel : -1; },
    get storyboard() { return storyboard; },
    get analytics() {
      return beacons ? { viewId: beacons.viewId, pending: beacons.pending, counts: beacons.counts } : null;
    },
    video: video,
    play: play,
    pause: function () { video.pause(); },
    seek: seekTo,
    setLevel: chooseLevel,
  };

  setState("loading");
  updateTime();
  updateVolume();
  updatePlayButton();
  load();
  loadStoryboard();
})();

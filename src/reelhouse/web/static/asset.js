// The asset page's actions that need the server's answer: the signed link generator (and
// making a signing key, whose private half is shown once), caption file uploads, and a confirm
// step before a playback id is removed. JSON calls carry the session's CSRF token.
(function () {
  "use strict";
  var csrf = document.querySelector('meta[name="csrf-token"]').getAttribute("content");

  function post(url, body, type) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "X-CSRF-Token": csrf, "Content-Type": type, Accept: "application/json" },
      body: body
    }).then(function (response) {
      if (response.status === 401) { window.location.assign("/signin?expired=1"); return null; }
      return response.json().catch(function () {
        return { error: "The server answered " + response.status + "." };
      }).then(function (json) { return { ok: response.ok, body: json }; });
    });
  }

  function byId(id) { return document.getElementById(id); }

  function say(el, message) {
    el.textContent = message;
    el.hidden = !message;
  }

  function unreachable(el) {
    return function () { say(el, "Could not reach the server. Check your connection and try again."); };
  }

  // --- removing a playback id asks first ----------------------------------------------------

  Array.prototype.forEach.call(document.querySelectorAll("form[data-confirm]"), function (form) {
    form.addEventListener("submit", function (event) {
      if (!window.confirm(form.getAttribute("data-confirm"))) event.preventDefault();
    });
  });

  // --- signed links ---------------------------------------------------------------------------

  var signed = byId("signed-url-form");
  if (signed) {
    var signedError = byId("signed-url-error");
    var keyField = byId("signing-key");

    signed.addEventListener("submit", function (event) {
      event.preventDefault();
      var button = signed.querySelector('button[type="submit"]');
      var body = {
        playback_id: byId("signed-playback-id").value,
        key_id: keyField.value,
        private_key: byId("private-key").value,
        expires_in: Number(byId("expires-in").value)
      };
      say(signedError, "");
      button.disabled = true;
      var url = "/dashboard/api/assets/" + signed.getAttribute("data-asset-id") + "/signed-urls";
      post(url, JSON.stringify(body), "application/json").then(function (answer) {
        if (!answer) return;
        if (!answer.ok) { say(signedError, answer.body.error); return; }
        var urls = answer.body;
        byId("signed-expires").textContent = urls.expires_at;
        byId("signed-stream").value = urls.stream_url;
        byId("signed-embed").value = urls.embed_url;
        byId("signed-embed-html").value = urls.embed_html;
        byId("signed-thumbnail").value = urls.thumbnail_url;
        byId("signed-open").href = urls.embed_url;
        byId("signed-urls-out").hidden = false;
        byId("signed-stream").focus();
      }).catch(unreachable(signedError)).then(function () { button.disabled = false; });
    });

    var create = byId("create-key");
    if (create) {
      create.addEventListener("click", function () {
        say(signedError, "");
        create.disabled = true;
        post("/dashboard/api/signing-keys", "{}", "application/json").then(function (answer) {
          if (!answer) return;
          if (!answer.ok) { say(signedError, answer.body.error); return; }
          var key = answer.body;
          if (keyField.tagName === "SELECT") {
            var option = document.createElement("option");
            option.value = key.id;
            option.textContent = key.id;
            keyField.insertBefore(option, keyField.firstChild);
          }
          keyField.value = key.id;
          var none = byId("no-keys");
          if (none) none.hidden = true;
          byId("new-key-id").value = key.id;
          byId("new-key-private").value = key.private_key;
          byId("private-key").value = key.private_key;
          byId("new-key").hidden = false;
          byId("new-key-private").focus();
        }).catch(unreachable(signedError)).then(function () { create.disabled = false; });
      });
    }
  }

  // --- caption files --------------------------------------------------------------------------

  var captions = byId("caption-form");
  if (captions) {
    var captionError = byId("caption-error");
    captions.addEventListener("submit", function (event) {
      event.preventDefault();
      var file = byId("caption-file").files[0];
      var limit = Number(captions.getAttribute("data-limit"));
      if (!file) { say(captionError, "Choose a caption file (.srt or .vtt)."); return; }
      if (limit && file.size > limit) {
        say(captionError, "The caption file is larger than " + captions.getAttribute("data-limit-text") + ".");
        return;
      }
      var query = new URLSearchParams({
        language_code: byId("caption-language").value.trim(),
        name: byId("caption-name").value.trim(),
        closed_captions: byId("caption-cc").checked ? "1" : "",
        filename: file.name
      });
      var assetId = captions.getAttribute("data-asset-id");
      var button = captions.querySelector('button[type="submit"]');
      say(captionError, "");
      button.disabled = true;
      post("/dashboard/api/assets/" + assetId + "/text-tracks?" + query.toString(), file,
        "application/octet-stream").then(function (answer) {
        if (!answer) return;
        if (!answer.ok) { say(captionError, answer.body.error); return; }
        window.location.assign("/assets/" + assetId + "?done=caption-added#tracks");
      }).catch(unreachable(captionError)).then(function () { button.disabled = false; });
    });
  }
})();

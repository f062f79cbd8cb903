// Copy buttons beside a secret shown once (a new access token, a webhook signing secret, a new
// signing key and its private key).
(function () {
  "use strict";

  function say(id, text) {
    var status = document.querySelector('[data-copy-status="' + id + '"]');
    if (status) status.textContent = text;
  }

  function copy(id) {
    var field = document.getElementById(id);
    if (!field) return;
    field.focus();
    field.select();
    var copied = function () { say(id, "Copied to the clipboard."); };
    var fallback = function () {
      var done = false;
      try { done = document.execCommand("copy"); } catch (e) { done = false; }
      if (done) copied(); else say(id, "Selected: press Ctrl+C (or ⌘C) to copy.");
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(field.value).then(copied, fallback);
    } else {
      fallback();
    }
  }

  Array.prototype.forEach.call(document.querySelectorAll("button[data-copy]"), function (button) {
    button.hidden = false;
    button.addEventListener("click", function () { copy(button.getAttribute("data-copy")); });
  });
})();

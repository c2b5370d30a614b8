// Polls /onboarding/status until the webhook has recorded the order, then reloads the
// onboarding page (whose button signs the buyer in once and goes on to the form). A 429
// carries Retry-After: the next poll waits at least that long.
(function () {
  "use strict";
  var box = document.getElementById("onboarding-status");
  if (!box) return;
  var sessionId = box.getAttribute("data-session-id");
  var message = document.getElementById("onboarding-message");
  var delay = 1500;
  var toldToWait = 0;
  var stopped = { expired: true, unknown: true, invalid: true };

  function poll() {
    fetch("/onboarding/status?session_id=" + encodeURIComponent(sessionId), {
      headers: { Accept: "application/json" },
      credentials: "same-origin",
    })
      .then(function (response) {
        var wait = parseInt(response.headers.get("Retry-After") || "", 10);
        if (response.status === 429 && wait > 0) toldToWait = wait * 1000;
        return response.json();
      })
      .then(function (body) {
        if (body.state === "recorded") {
          window.location.assign("/onboarding?session_id=" + encodeURIComponent(sessionId));
          return;
        }
        if (body.message && message.textContent !== body.message) message.textContent = body.message;
        box.setAttribute("data-state", body.state);
        if (!stopped[body.state]) schedule();
      })
      .catch(function () { schedule(); });
  }
  function schedule() {
    // Back off gently while the webhook is late (longer only when told to by a 429).
    delay = Math.min(delay * 1.2, 8000);
    window.setTimeout(poll, Math.max(delay, toldToWait));
    toldToWait = 0;
  }
  window.setTimeout(poll, delay);
})();

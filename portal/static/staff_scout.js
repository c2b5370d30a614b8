// The scout page while a worker has not finished: ask for the scout's status every two
// seconds and reload the page once it changes (the report is rendered by the server). A
// timed <meta refresh> would do it without a script, but reloads under screen readers and
// keyboard users at a pace they do not choose (WCAG 2.2.1).
(function () {
  "use strict";
  var root = document.getElementById("scout");
  if (!root || !root.dataset.statusUrl) return;
  var shown = root.dataset.status;
  if (shown !== "queued" && shown !== "running") return;
  function look() {
    fetch(root.dataset.statusUrl, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (body) {
        if (body && body.status && body.status !== shown) {
          window.location.reload();
          return;
        }
        window.setTimeout(look, 2000);
      })
      .catch(function () { window.setTimeout(look, 5000); });
  }
  window.setTimeout(look, 2000);
})();

// Staff dashboard live updates: the server-sent event stream says something changed (a job's
// status, a directory's progress, an alert); each part of the page marked data-live-src is
// then re-read from the portal (server-rendered HTML) and swapped in. No library, no CDN.
(function () {
  "use strict";
  var root = document.querySelector("[data-live-url]");
  if (!root || !window.EventSource) { return; }
  var state = document.getElementById("live-state");
  var timer = null;
  var refreshing = false;
  var again = false;

  function say(kind, text) {
    if (!state) { return; }
    state.setAttribute("data-state", kind);
    state.textContent = text;
  }

  // A region the user is working in (a focused control, a ticked box) waits: never yank a
  // half-made choice from under them.
  function touched(region) {
    if (!region.hasAttribute("data-live-keep-if-touched")) { return false; }
    if (region.contains(document.activeElement) && document.activeElement !== document.body) { return true; }
    return region.querySelector("input[type=checkbox]:checked") !== null;
  }

  function refresh() {
    if (refreshing) { again = true; return; }
    refreshing = true;
    var regions = Array.prototype.slice.call(document.querySelectorAll("[data-live-src]"));
    var work = regions.filter(function (r) { return !touched(r); }).map(function (region) {
      return fetch(region.getAttribute("data-live-src"), {
        headers: { "Accept": "text/html" }, credentials: "same-origin", cache: "no-store"
      }).then(function (response) {
        if (!response.ok) { throw new Error("HTTP " + response.status); }
        return response.text();
      }).then(function (html) {
        if (region.innerHTML.trim() !== html.trim()) {
          // A section the user opened or closed stays so: the server's default (open when
          // short) must not fold it back on every change.
          var folded = {};
          Array.prototype.forEach.call(region.querySelectorAll("details[id]"), function (d) {
            folded[d.id] = d.open;
          });
          region.innerHTML = html;
          Array.prototype.forEach.call(region.querySelectorAll("details[id]"), function (d) {
            if (Object.prototype.hasOwnProperty.call(folded, d.id)) { d.open = folded[d.id]; }
          });
        }
      });
    });
    Promise.all(work).then(function () {
      root.setAttribute("data-refreshed-at", String(Date.now()));
    }, function () {
      say("degraded", "Live updates: could not refresh, retrying…");
    }).then(function () {
      refreshing = false;
      if (again) { again = false; schedule(); }
    });
  }

  function schedule() {
    if (timer) { return; }
    timer = setTimeout(function () { timer = null; refresh(); }, 400);
  }

  var source = new EventSource(root.getAttribute("data-live-url"));
  source.addEventListener("ready", function () {
    say("live", "Live updates: on");
    // Anything that changed while the stream was connecting.
    schedule();
  });
  source.addEventListener("degraded", function () {
    say("degraded", "Live updates: realtime unavailable, refreshing every few seconds");
  });
  ["job_status", "progress", "alert", "tick"].forEach(function (name) {
    source.addEventListener(name, schedule);
  });
  source.addEventListener("reauth", function () { say("connecting", "Live updates: reconnecting…"); });
  source.onerror = function () { say("connecting", "Live updates: reconnecting…"); };
})();

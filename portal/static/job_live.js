// The job page, live: applies the server-sent events of /jobs/<id>/events without a reload.
// No framework and nothing from a CDN. The server sends the job's state as JSON, with the
// changed table rows and the counts as HTML it rendered (and escaped) itself; this script only
// swaps them in. Screen readers hear status changes and new "needs your action" directories at
// once, and progress at most every 15 seconds. On the report page it only wires the Print button.
(function () {
  "use strict";

  document.querySelectorAll("[data-print]").forEach(function (button) {
    button.addEventListener("click", function () { window.print(); });
  });

  var root = document.getElementById("job");
  if (!root || !window.EventSource) {
    return;
  }

  var PROGRESS_ANNOUNCE_MS = 15000;
  var byId = function (id) { return document.getElementById(id); };
  var liveStatus = byId("job-live-status");
  var politeRegion = byId("job-announcer");
  var urgentRegion = byId("job-alert");
  var lastProgressAnnouncement = 0;
  var updates = 0;
  // Each connection's first message repeats every row: those are swapped in without a flash.
  var firstOfConnection = true;

  function fragment(html) {
    var template = document.createElement("template");
    template.innerHTML = html.trim();
    return template.content;
  }

  function setText(id, text) {
    var element = byId(id);
    if (element && element.textContent !== text) {
      element.textContent = text;
    }
  }

  function setLiveStatus(state, text) {
    liveStatus.dataset.state = state;
    liveStatus.textContent = text;
  }

  function announce(text, urgent) {
    if (!text) {
      return;
    }
    var now = Date.now();
    if (!urgent && now - lastProgressAnnouncement < PROGRESS_ANNOUNCE_MS) {
      return;
    }
    if (!urgent) {
      lastProgressAnnouncement = now;
    }
    var region = urgent ? urgentRegion : politeRegion;
    // Emptied first so that the same words said twice are announced twice.
    region.textContent = "";
    window.setTimeout(function () { region.textContent = text; }, 50);
  }

  function applyRows(rows, highlight) {
    var tbody = document.querySelector("#job-directories tbody");
    Object.keys(rows).forEach(function (directoryId) {
      var replacement = fragment(rows[directoryId]).firstElementChild;
      if (!replacement) {
        return;
      }
      var current = byId("dir-" + directoryId);
      if (current) {
        current.replaceWith(replacement);
      } else {
        tbody.appendChild(replacement);
      }
      if (highlight) {
        replacement.classList.add("updated");
      }
    });
  }

  function apply(state) {
    var status = byId("job-status");
    status.textContent = state.status_label;
    status.className = "status status-" + state.status_tone;
    setText("job-status-meaning", state.status_meaning);

    var bar = byId("job-progress");
    bar.max = Math.max(state.total, 1);
    bar.value = state.done;
    bar.textContent = state.percent + "%";
    setText("job-progress-text", state.progress_text);
    setText("job-estimate", state.estimate);
    setText("job-estimate-basis", state.estimate_basis);

    byId("job-counts").replaceChildren(fragment(state.counts_html));
    byId("job-needs-action").replaceChildren(fragment(state.needs_action_html));
    applyRows(state.rows, !firstOfConnection);
    firstOfConnection = false;

    if (state.report_url) {
      byId("job-report-link").href = state.report_url;
      byId("job-report").hidden = false;
    }
    root.dataset.status = state.status;
    root.dataset.final = state.final ? "true" : "false";
    // Whether the server hears Realtime (true) or re-reads on a timer (false).
    root.dataset.realtime = state.live ? "true" : "false";
    updates += 1;
    root.dataset.updates = String(updates);
    announce(state.announce, state.urgent);
  }

  // A finished job does not change by itself any more (a staff retry is rare and announced by
  // email): no stream for it, and the stream ends once the job finishes.
  if (root.dataset.final === "true") {
    setLiveStatus("static", "This job has finished.");
    return;
  }
  var source = new EventSource(root.dataset.eventsUrl);
  source.addEventListener("open", function () {
    firstOfConnection = true;
    setLiveStatus("live", "Live: this page updates by itself.");
  });
  source.addEventListener("state", function (event) {
    var state = JSON.parse(event.data);
    apply(state);
    if (state.final) {
      source.close();
      setLiveStatus("static", "This job has finished.");
    }
  });
  source.addEventListener("gone", function () {
    source.close();
    setLiveStatus("static", "This job is no longer available to you. Reload the page.");
  });
  source.addEventListener("error", function () {
    if (source.readyState === EventSource.CLOSED) {
      setLiveStatus("static", "Live updates stopped. Reload the page to see the latest.");
    } else {
      setLiveStatus("reconnecting", "Reconnecting for live updates…");
    }
  });
  window.addEventListener("pagehide", function () { source.close(); });
})();

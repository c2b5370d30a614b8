// The Business Info Form's rules in the browser — the same rules, and the same messages, as
// portal/business_form.py on the server (which stays the authority). The one difference: the
// phone number is checked here for its shape only; the server checks it against the chosen
// country with libphonenumber and stores it as E.164.
(function () {
  "use strict";
  var form = document.getElementById("business-form");
  if (!form) return;

  var DAYS = [["mon", "Monday"], ["tue", "Tuesday"], ["wed", "Wednesday"], ["thu", "Thursday"],
    ["fri", "Friday"], ["sat", "Saturday"], ["sun", "Sunday"]];
  var RANGES = 3;
  var TEXT = {
    business_name: ["Business name", true, 200],
    street_address: ["Street address", true, 200],
    city: ["City or town", true, 100],
    region: ["State, county or region", true, 100],
    postal_code: ["Postal code", true, 20],
    tagline: ["Tagline", false, 160],
    description: ["Description", false, 2000],
  };
  var ORDER = ["business_name", "category", "street_address", "city", "region", "postal_code",
    "country", "phone", "website"];
  var POSTAL = /^[A-Za-z0-9][A-Za-z0-9 -]*[A-Za-z0-9]$/;
  var TIME = /^([01][0-9]|2[0-3]):[0-5][0-9]$/;
  var LABEL = /^(?!-)[a-z0-9-]{1,63}$/;
  var SCHEME = /^([A-Za-z][A-Za-z0-9+.-]*:\/\/|(javascript|data|mailto|file|tel|ftp):)/i;
  var CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/;
  var CONTROL_ANY = /[\u0000-\u001f\u007f]/;
  var logoMax = parseInt(form.getAttribute("data-logo-max-bytes"), 10) || 1048576;

  function el(id) { return document.getElementById(id); }
  function squash(text) { return text.replace(/\s+/g, " ").trim(); }

  function checkText(name) {
    var spec = TEXT[name];
    var label = spec[0].toLowerCase();
    var raw = el(name).value;
    var text = name === "description" ? raw.replace(/\r\n/g, "\n").trim() : squash(raw);
    if (!text) return spec[1] ? "Enter the " + label : null;
    if ((name === "description" ? CONTROL : CONTROL_ANY).test(text)) {
      return "The " + label + " contains characters that cannot be stored";
    }
    var length = Array.from(text).length;
    if (length > spec[2]) {
      return "The " + label + " must be at most " + spec[2] + " characters (it has " + length + ")";
    }
    if (name === "business_name" && length < 2) return "The business name must be at least 2 characters";
    if (name === "postal_code" && !POSTAL.test(text)) {
      return "The postal code may only contain letters, digits, spaces and hyphens";
    }
    return null;
  }

  function checkSelect(name, what) {
    var select = el(name);
    if (!select.value) return "Choose the " + what;
    for (var i = 0; i < select.options.length; i++) {
      if (select.options[i].value === select.value) return null;
    }
    return "Choose a " + what + " from the list";
  }

  // Mirrors normalise_url(): scheme added, http(s) only, no credentials, a dotted host name.
  function checkUrl(raw, what) {
    var text = raw.trim();
    var example = "Enter a " + what + " like example.com";
    if (/\s/.test(text) || CONTROL_ANY.test(text)) return ["The " + what + " must not contain spaces"];
    if (!SCHEME.test(text)) text = "https://" + text;
    var url;
    try { url = new URL(text); } catch (e) { return [example]; }
    if (url.protocol !== "http:" && url.protocol !== "https:") {
      return ["The " + what + " must start with http:// or https://"];
    }
    if (url.username || url.password) return ["The " + what + " must not contain a user name or password"];
    var host = url.hostname.replace(/\.$/, "");
    var labels = host.split(".");
    if (labels.length < 2) return [example];
    for (var i = 0; i < labels.length; i++) {
      if (!LABEL.test(labels[i]) || /-$/.test(labels[i])) return [example];
    }
    var tld = labels[labels.length - 1];
    if (tld.length < 2 || !(/^[a-z]+$/.test(tld) || tld.indexOf("xn--") === 0)) return [example];
    if (url.href.length > 2048) return ["The " + what + " must be at most 2048 characters"];
    return [null, url];
  }

  function checkPhone() {
    var text = el("phone").value.trim();
    if (!text) return "Enter the phone number";
    if (!el("country").value && text.charAt(0) !== "+") {
      return null; // the country's own error comes first, as on the server
    }
    if (text.length > 30) return "The phone number must be at most 30 characters";
    var digits = text.replace(/\D/g, "");
    if (!/^\+?[0-9 ()./-]+$/.test(text) || digits.length < 5 || digits.length > 15) {
      return "Enter a phone number, like 0161 496 0000 or +44 161 496 0000";
    }
    return null;
  }

  function minutes(hhmm) { var p = hhmm.split(":"); return parseInt(p[0], 10) * 60 + parseInt(p[1], 10); }

  function checkDay(day, label) {
    if (el("hours-" + day + "-closed").checked) return [null, 0];
    var ranges = [];
    for (var n = 0; n < RANGES; n++) {
      var opens = el("hours-" + day + "-" + n + "-open").value.trim();
      var closes = el("hours-" + day + "-" + n + "-close").value.trim();
      if (!opens && !closes) continue;
      if (!opens || !closes) return [label + ": enter both an opening and a closing time"];
      if (!TIME.test(opens) || !TIME.test(closes)) return [label + ": times must be written as HH:MM, like 09:00"];
      var start = minutes(opens);
      var end = closes === "00:00" ? 24 * 60 : minutes(closes);
      if (start >= end) return [label + ": the closing time must be after the opening time"];
      ranges.push([start, end]);
    }
    if (!ranges.length) return [label + ": enter the opening hours or tick Closed"];
    ranges.sort(function (a, b) { return a[0] - b[0] || a[1] - b[1]; });
    for (var i = 1; i < ranges.length; i++) {
      if (ranges[i][0] < ranges[i - 1][1]) return [label + ": the time ranges overlap"];
    }
    return [null, ranges.length];
  }

  function checkLogo() {
    var input = el("logo");
    if (!input.files || !input.files.length) return null;
    var file = input.files[0];
    if (file.size > logoMax) return "The logo must be at most 1 MB";
    if (["image/png", "image/jpeg", "image/webp"].indexOf(file.type) < 0) {
      return "The logo must be a PNG, JPEG or WebP image";
    }
    return null;
  }

  function socialFields() { return Array.prototype.slice.call(form.querySelectorAll("[data-hosts]")); }

  function checkSocial(field) {
    var input = field.querySelector("input");
    if (!input.value.trim()) return null;
    var label = field.getAttribute("data-label");
    var result = checkUrl(input.value, label + " address");
    if (result[0]) return result[0];
    var host = result[1].hostname;
    var hosts = field.getAttribute("data-hosts").split(" ");
    for (var i = 0; i < hosts.length; i++) {
      if (host === hosts[i] || host.slice(-(hosts[i].length + 1)) === "." + hosts[i]) return null;
    }
    return "The " + label + " address must be on " + hosts.join(" or ");
  }

  // -- showing errors next to their fields ------------------------------------------------
  function controlsFor(id) {
    var day = /^hours-(\w+)$/.exec(id);
    if (day) return Array.prototype.slice.call(el(id).querySelectorAll('input[type="time"]'));
    return [el(id)];
  }

  function describedBy(control, errorId, on) {
    var ids = (control.getAttribute("aria-describedby") || "").split(/\s+/).filter(Boolean);
    ids = ids.filter(function (x) { return x !== errorId; });
    if (on) ids.push(errorId);
    if (ids.length) control.setAttribute("aria-describedby", ids.join(" "));
    else control.removeAttribute("aria-describedby");
  }

  function show(id, message) {
    var errorId = id + "-error";
    var holder = el(errorId);
    if (!holder) {
      holder = document.createElement("p");
      holder.className = "field-error";
      holder.id = errorId;
      el(id).parentNode.appendChild(holder);
    }
    holder.textContent = message || "";
    holder.hidden = !message;
    controlsFor(id).forEach(function (control) {
      if (message) control.setAttribute("aria-invalid", "true");
      else control.removeAttribute("aria-invalid");
      describedBy(control, errorId, !!message);
    });
  }

  function validateAll() {
    var errors = [];
    function record(id, message) { show(id, message); if (message) errors.push([id, message]); }
    ORDER.forEach(function (name) {
      if (TEXT[name]) record(name, checkText(name));
      else if (name === "category") record(name, checkSelect("category", "category"));
      else if (name === "country") record(name, checkSelect("country", "country"));
      else if (name === "phone") record(name, checkPhone());
      else if (name === "website") {
        var value = el("website").value.trim();
        record(name, value ? checkUrl(value, "website address")[0] : "Enter the website");
      }
    });
    var openDays = 0;
    var dayErrors = 0;
    DAYS.forEach(function (pair) {
      var result = checkDay(pair[0], pair[1]);
      record("hours-" + pair[0], result[0]);
      if (result[0]) dayErrors++; else openDays += result[1];
    });
    if (!dayErrors && !openDays) record("hours-mon", "Enter the opening hours of at least one day");
    record("logo", checkLogo());
    record("tagline", checkText("tagline"));
    record("description", checkText("description"));
    socialFields().forEach(function (field) { record(field.querySelector("input").id, checkSocial(field)); });
    return errors;
  }

  function summarise(errors) {
    var summary = el("error-summary");
    var list = summary.querySelector("ul");
    list.textContent = "";
    errors.forEach(function (pair) {
      var item = document.createElement("li");
      var link = document.createElement("a");
      link.href = "#" + (/^hours-\w+$/.test(pair[0]) ? pair[0] + "-0-open" : pair[0]);
      link.textContent = pair[1];
      item.appendChild(link);
      list.appendChild(item);
    });
    summary.querySelector("h2").textContent =
      "Please correct " + errors.length + (errors.length === 1 ? " field" : " fields");
    summary.hidden = !errors.length;
  }

  form.addEventListener("submit", function (event) {
    var errors = validateAll();
    summarise(errors);
    if (errors.length) {
      event.preventDefault();
      el("error-summary").focus();
    }
  });

  // Re-check a field when the customer leaves it, once it has been flagged.
  form.addEventListener("change", function (event) {
    var target = event.target;
    if (!target.id) return;
    var day = /^hours-(\w+)-/.exec(target.id);
    if (day) {
      var label = el("hours-" + day[1]).getAttribute("data-label");
      if (el("hours-" + day[1] + "-error") && !el("hours-" + day[1] + "-error").hidden) {
        show("hours-" + day[1], checkDay(day[1], label)[0]);
      }
      el("hours-" + day[1]).classList.toggle("is-closed", el("hours-" + day[1] + "-closed").checked);
      return;
    }
    var holder = el(target.id + "-error");
    if (!holder || holder.hidden) return;
    if (TEXT[target.id]) show(target.id, checkText(target.id));
    else if (target.id === "phone") show("phone", checkPhone());
    else if (target.id === "logo") show("logo", checkLogo());
  });

  // Live character counts for the bounded free-text fields.
  Array.prototype.slice.call(document.querySelectorAll("[data-counter-for]")).forEach(function (counter) {
    var input = el(counter.getAttribute("data-counter-for"));
    var limit = TEXT[input.id][2];
    function update() { counter.textContent = Array.from(input.value).length + " of " + limit + " used."; }
    input.addEventListener("input", update);
    update();
  });
  DAYS.forEach(function (pair) {
    el("hours-" + pair[0]).classList.toggle("is-closed", el("hours-" + pair[0] + "-closed").checked);
  });
})();

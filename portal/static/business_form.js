// The Business Info Form's rules in the browser, with the same messages as the server (which
// stays the authority: dbolt/business.py). Every limit, pattern and list comes from the page,
// which renders the server's (portal/templates/business.html): maxlength, required,
// data-label, data-min-length, data-pattern, the days and their ranges, the countries, the
// logo types, each country's postcode rule (on its <option>). The phone number is judged by
// phone_check.js with rules generated from the server's phonenumbers package.
(function () {
  "use strict";
  var form = document.getElementById("business-form");
  if (!form) return;

  var TIME = new RegExp(document.getElementById("hours").getAttribute("data-time-pattern"));
  var LABEL = new RegExp(form.getAttribute("data-host-label"));
  var SCHEME = new RegExp(form.getAttribute("data-url-scheme"), "i");
  var CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/;
  var CONTROL_ANY = /[\u0000-\u001f\u007f]/;
  var logoMax = parseInt(form.getAttribute("data-logo-max-bytes"), 10);

  function el(id) { return document.getElementById(id); }
  function squash(text) { return text.replace(/\s+/g, " ").trim(); }
  function checked() { return Array.prototype.slice.call(form.querySelectorAll("[data-check]")); }
  function days() { return checked().filter(function (holder) { return holder.getAttribute("data-check") === "day"; }); }
  function isText(control) { return !!control.closest('[data-check="text"]'); }

  function checkText(name) {
    var control = el(name);
    var label = control.getAttribute("data-label").toLowerCase();
    var multiline = control.tagName === "TEXTAREA";
    var raw = control.value;
    var text = multiline ? raw.replace(/\r\n/g, "\n").trim() : squash(raw);
    if (!text) return control.required ? "Enter the " + label : null;
    if ((multiline ? CONTROL : CONTROL_ANY).test(text)) {
      return "The " + label + " contains characters that cannot be stored";
    }
    var length = Array.from(text).length;
    var limit = control.maxLength;
    if (length > limit) {
      return "The " + label + " must be at most " + limit + " characters (it has " + length + ")";
    }
    var least = parseInt(control.getAttribute("data-min-length") || "1", 10);
    if (length < least) return "The " + label + " must be at least " + least + " characters";
    var pattern = control.getAttribute("data-pattern");
    if (pattern && !new RegExp(pattern).test(text)) return control.getAttribute("data-pattern-message");
    return null;
  }

  function checkSelect(name) {
    var select = el(name);
    var what = select.getAttribute("data-label").toLowerCase();
    if (!select.value) return "Choose the " + what;
    for (var i = 0; i < select.options.length; i++) {
      if (select.options[i].value === select.value) return null;
    }
    return "Choose a " + what + " from the list";
  }

  // Mirrors normalise_url(): scheme added, http(s) only, no credentials, a dotted host name.
  function checkUrl(raw, what, limit) {
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
      if (!LABEL.test(labels[i])) return [example];
    }
    var tld = labels[labels.length - 1];
    if (tld.length < 2 || !(/^[a-z]+$/.test(tld) || tld.indexOf("xn--") === 0)) return [example];
    if (url.href.length > limit) return ["The " + what + " must be at most " + limit + " characters"];
    return [null, url];
  }

  function checkPhone() {
    var text = el("phone").value.trim();
    if (!text) return "Enter the phone number";
    var country = el("country");
    if (!country.value && text.charAt(0) !== "+") {
      return null; // the country's own error comes first, as on the server
    }
    if (!window.dboltPhoneProblem) return null;
    var name = country.selectedIndex > 0 ? country.options[country.selectedIndex].text : "";
    // undefined: a form this cannot read exactly; the server decides.
    return window.dboltPhoneProblem(text, country.value, name) || null;
  }

  // The chosen country's postcode rule, from its <option> (dbolt/postcodes.py on the server).
  function postcodeRule() {
    var country = el("country");
    var option = country.selectedIndex > 0 ? country.options[country.selectedIndex] : null;
    if (!option) return { label: "Postal code", name: "postal code", required: false, pattern: null };
    return {
      label: option.getAttribute("data-postcode-label"),
      name: option.getAttribute("data-postcode-name"),
      required: option.hasAttribute("data-postcode-required"),
      pattern: option.getAttribute("data-postcode-pattern"),
      mismatch: option.getAttribute("data-postcode-mismatch")
    };
  }

  function showPostcodeRule() {
    var rule = postcodeRule();
    var label = el("postal_code-label");
    label.querySelector("[data-postcode-name]").textContent = rule.label;
    label.querySelector("[data-postcode-optional]").hidden = rule.required;
    el("postal_code").required = rule.required;
  }

  function checkPostcode() {
    var input = el("postal_code");
    var rule = postcodeRule();
    var text = squash(input.value).toUpperCase();
    if (!text) return rule.required ? "Enter the " + rule.name : null;
    var length = Array.from(text).length;
    if (length > input.maxLength) {
      return "The " + rule.name + " must be at most " + input.maxLength + " characters (it has " + length + ")";
    }
    if (!new RegExp(input.getAttribute("data-any-pattern")).test(text)) {
      return "The " + rule.name + " may only contain letters, digits, spaces and hyphens";
    }
    if (rule.pattern && !new RegExp(rule.pattern).test(text)) return rule.mismatch;
    return null;
  }

  function minutes(hhmm) { var p = hhmm.split(":"); return parseInt(p[0], 10) * 60 + parseInt(p[1], 10); }

  function checkDay(holder) {
    var day = holder.getAttribute("data-day");
    var label = holder.getAttribute("data-label");
    if (el("hours-" + day + "-closed").checked) return [null, 0];
    var ranges = [];
    var count = holder.querySelectorAll("[data-range]").length;
    for (var n = 0; n < count; n++) {
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
    if (input.accept.split(",").indexOf(file.type) < 0) {
      return "The logo must be a PNG, JPEG or WebP image";
    }
    return null;
  }

  function checkSocial(field) {
    var input = field.querySelector("input");
    if (!input.value.trim()) return null;
    var label = field.getAttribute("data-label");
    var result = checkUrl(input.value, label + " address", input.maxLength);
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
    if (day) {
      // A closed day's time boxes are hidden and disabled: never flagged.
      if (el(id + "-closed").checked) return [];
      return Array.prototype.slice.call(el(id).querySelectorAll('input[type="time"]'));
    }
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
    var openDays = 0;
    var dayErrors = 0;
    // In page order, as the server's error summary lists them.
    checked().forEach(function (holder) {
      var kind = holder.getAttribute("data-check");
      var name = holder.getAttribute("data-field");
      if (kind === "text") record(name, checkText(name));
      else if (kind === "postcode") record(name, checkPostcode());
      else if (kind === "select") record(name, checkSelect(name));
      else if (kind === "phone") record(name, checkPhone());
      else if (kind === "website") {
        var website = el(name);
        var value = website.value.trim();
        record(name, value ? checkUrl(value, "website address", website.maxLength)[0] : "Enter the website");
      } else if (kind === "logo") record(name, checkLogo());
      else if (kind === "social") record(name, checkSocial(holder));
      else if (kind === "day") {
        var result = checkDay(holder);
        record(holder.id, result[0]);
        if (result[0]) dayErrors++; else openDays += result[1];
        // The week as a whole, once its last day is checked, shown at its first day.
        if (holder === days()[days().length - 1] && !dayErrors && !openDays) {
          record(days()[0].id, "Enter the opening hours of at least one day");
        }
      }
    });
    return errors;
  }

  function summarise(errors) {
    var summary = el("error-summary");
    var list = summary.querySelector("ul");
    list.textContent = "";
    errors.forEach(function (pair) {
      var item = document.createElement("li");
      var link = document.createElement("a");
      link.href = "#" + (/^hours-\w+$/.test(pair[0])
        ? pair[0] + (el(pair[0] + "-closed").checked ? "-closed" : "-0-open")
        : pair[0]);
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
      showClosed(el("hours-" + day[1]));
      recheckDay(day[1]);
      return;
    }
    if (target.id === "country") {
      showPostcodeRule();
      // The country changes what the postcode and the phone number may be.
      ["postal_code", "phone"].forEach(function (id) {
        if (el(id).value.trim() || !el(id + "-error").hidden) show(id, id === "phone" ? checkPhone() : checkPostcode());
      });
    }
    if (target.id === "phone") { show("phone", target.value.trim() ? checkPhone() : null); return; }
    var holder = el(target.id + "-error");
    if (!holder || holder.hidden) return;
    if (target.id === "postal_code") show("postal_code", checkPostcode());
    else if (isText(target)) show(target.id, checkText(target.id));
    else if (target.id === "logo") show("logo", checkLogo());
  });

  function recheckDay(day) {
    var error = el("hours-" + day + "-error");
    if (error && !error.hidden) show("hours-" + day, checkDay(el("hours-" + day))[0]);
  }

  // A closed day: its time boxes hidden (CSS) and disabled, so they are neither filled in
  // nor flagged; they come back as they were when the day is opened again.
  function showClosed(holder) {
    var closed = el(holder.id + "-closed").checked;
    holder.classList.toggle("is-closed", closed);
    Array.prototype.slice.call(holder.querySelectorAll('input[type="time"]')).forEach(function (input) {
      input.disabled = closed;
      if (closed) input.removeAttribute("aria-invalid");
    });
  }

  // "Same hours every weekday" / "Copy Monday to all days": Monday's closed box and ranges.
  function copyMonday(button) {
    var targets = button.getAttribute("data-copy-monday-to").split(" ");
    var count = el("hours-mon").querySelectorAll("[data-range]").length;
    targets.forEach(function (day) {
      el("hours-" + day + "-closed").checked = el("hours-mon-closed").checked;
      for (var n = 0; n < count; n++) {
        ["open", "close"].forEach(function (end) {
          el("hours-" + day + "-" + n + "-" + end).value = el("hours-mon-" + n + "-" + end).value;
        });
      }
      showClosed(el("hours-" + day));
      recheckDay(day);
    });
    var names = targets.map(function (day) { return el("hours-" + day).getAttribute("data-label"); });
    el("hours-copy-status").textContent = "Monday's hours copied to " +
      (names.length > 1 ? names.slice(0, -1).join(", ") + " and " + names[names.length - 1] : names[0]) + ".";
  }
  Array.prototype.slice.call(document.querySelectorAll("[data-copy-monday-to]")).forEach(function (button) {
    button.addEventListener("click", function () { copyMonday(button); });
  });
  el("hours-copy").hidden = false;

  // Live character counts for the bounded free-text fields.
  Array.prototype.slice.call(document.querySelectorAll("[data-counter-for]")).forEach(function (counter) {
    var input = el(counter.getAttribute("data-counter-for"));
    var limit = input.maxLength;
    function update() { counter.textContent = Array.from(input.value).length + " of " + limit + " used."; }
    input.addEventListener("input", update);
    update();
  });
  days().forEach(showClosed);
  showPostcodeRule();
})();

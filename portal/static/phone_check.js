// A phone number judged in the browser as the server judges it: phonenumbers.parse and
// is_valid_number (dbolt/typed_values.normalise_phone), step by step, with the rules and the
// words generated from the same package (phone_rules.js, by dbolt/phone_rules.py). The server
// stays the authority: what this cannot read exactly (anything but printable ASCII, RFC 3966
// "tel:…;phone-context=" forms) it leaves to the server rather than guess.
//
// window.dboltPhoneProblem(text, region, countryName) answers null (fine), the server's
// message, or undefined (not decided here). tests/e2e/test_phone_rules_browser.py runs it in
// Chromium against Python over a corpus and requires the same answers.
(function () {
  "use strict";
  var R = window.DBOLT_PHONE_RULES;
  if (!R) return;
  var P = R.patterns;
  var MAX_INPUT = 250, MIN_NSN = 2, MAX_NSN = 17, MAX_CC = 3;
  // Flags as phonenumbers compiles them (IGNORECASE where it does); "(?u)" is Python's only.
  var VALID_PHONE = new RegExp("^(?:" + P.validPhone + ")$", "i");
  var EXTENSION = new RegExp(P.extension, "i");
  var VALID_START = new RegExp(P.validStart);
  var UNWANTED_END = new RegExp(P.unwantedEnd.replace("(?u)", ""));
  var SECOND_NUMBER = new RegExp(P.secondNumber);
  var ALPHA_PHONE = new RegExp("^(?:" + P.alphaPhone + ")$");
  var PLUS = new RegExp("^(?:" + P.plusChars + ")");
  var NOT_A_NUMBER = {}, INVALID_COUNTRY_CODE = {};

  var compiled = {};
  function re(source) { return compiled[source] || (compiled[source] = new RegExp(source)); }
  function full(pattern, text) { return re("^(?:" + pattern + ")$").test(text); }
  function atStart(pattern) { return re("^(?:" + pattern + ")"); }
  function has(list, item) { return list.indexOf(item) >= 0; }

  function normalize(text) {
    if (!ALPHA_PHONE.test(text)) return text.replace(/[^0-9]/g, "");
    var out = "";
    for (var i = 0; i < text.length; i++) {
      var digit = R.alpha[text.charAt(i).toUpperCase()];
      if (digit !== undefined) out += digit;
    }
    return out;
  }

  function isViable(text) { return text.length >= MIN_NSN && VALID_PHONE.test(text); }

  function extractPossible(text) {
    var start = VALID_START.exec(text);
    if (!start) return "";
    text = text.slice(start.index);
    var end = UNWANTED_END.exec(text);
    if (end) text = text.slice(0, end.index);
    var second = SECOND_NUMBER.exec(text);
    if (second) text = text.slice(0, second.index);
    return text;
  }

  function stripExtension(text) {
    var match = EXTENSION.exec(text);
    if (match && isViable(text.slice(0, match.index))) {
      for (var i = 1; i < match.length; i++) {
        if (match[i] !== undefined) return text.slice(0, match.index);
      }
    }
    return text;
  }

  function matchesPattern(number, desc) { return !!desc && full(desc[0], number); }
  function matchesDesc(number, desc) {
    if (!desc) return false;
    if (desc[1].length && !has(desc[1], number.length)) return false;
    return full(desc[0], number);
  }

  function lengthVerdict(number, meta) {
    var general = meta.general;
    if (!general) return "invalid-length";
    var lengths = general[1], n = number.length;
    if (has(general[2], n)) return "local-only";
    if (lengths[0] === n) return "possible";
    if (lengths[0] > n) return "too-short";
    if (lengths[lengths.length - 1] < n) return "too-long";
    return has(lengths.slice(1), n) ? "possible" : "invalid-length";
  }

  function stripNationalPrefix(number, meta) {
    if (!number.length || !meta.npp) return number;
    var match = atStart(meta.npp).exec(number);
    if (!match) return number;
    var viableOriginal = matchesPattern(number, meta.general);
    var groups = match.length - 1;
    var result = (!meta.npt || groups === 0 || match[groups] === undefined)
      ? number.slice(match[0].length)
      : number.replace(re(meta.npp), meta.npt);
    if (viableOriginal && !matchesPattern(result, meta.general)) return number;
    return result;
  }

  function extractCountryCode(number) {
    if (!number.length || number.charAt(0) === "0") return [0, number];
    for (var i = 1; i <= Math.min(number.length, MAX_CC); i++) {
      var code = parseInt(number.slice(0, i), 10);
      if (R.regionsByCode[String(code)]) return [code, number.slice(i)];
    }
    return [0, number];
  }

  function maybeExtractCountryCode(number, meta) {
    if (!number.length) return [0, ""];
    var fromDefault = false, whole;
    var plus = PLUS.exec(number);
    if (plus) {
      whole = normalize(number.slice(plus[0].length));
    } else {
      whole = normalize(number);
      var idd = atStart(meta && meta.idd !== undefined ? meta.idd : "NonMatch").exec(whole);
      var after = idd ? whole.slice(idd[0].length) : "";
      var firstDigit = /[0-9]/.exec(after);
      if (idd && !(firstDigit && firstDigit[0] === "0")) whole = after;
      else fromDefault = true;
    }
    if (!fromDefault) {
      if (whole.length <= MIN_NSN) throw NOT_A_NUMBER;
      var found = extractCountryCode(whole);
      if (found[0] !== 0) return found;
      throw INVALID_COUNTRY_CODE;
    }
    if (meta) {
      var own = String(meta.cc);
      if (whole.indexOf(own) === 0) {
        var potential = stripNationalPrefix(whole.slice(own.length), meta);
        if ((!matchesPattern(whole, meta.general) && matchesPattern(potential, meta.general)) ||
            lengthVerdict(whole, meta) === "too-long") {
          return [meta.cc, potential];
        }
      }
    }
    return [0, ""];
  }

  function mainRegion(code) { var regions = R.regionsByCode[String(code)]; return regions ? regions[0] : "ZZ"; }
  function metaFor(code, region) { return region === "001" ? R.nonGeographic[String(code)] : R.regions[region]; }

  // phonenumbers.parse(text, region): {code, nsn}, or throws.
  function parse(text, region) {
    if (text.length > MAX_INPUT) throw NOT_A_NUMBER;
    var national = extractPossible(text);
    if (!isViable(national)) throw NOT_A_NUMBER;
    var meta = region ? (R.regions[region] || null) : null;
    if (!meta && !PLUS.test(national)) throw INVALID_COUNTRY_CODE;
    national = stripExtension(national);
    var found;
    try {
      found = maybeExtractCountryCode(national, meta);
    } catch (error) {
      var plus = PLUS.exec(national);
      if (error !== INVALID_COUNTRY_CODE || !plus) throw error;
      found = maybeExtractCountryCode(national.slice(plus[0].length), meta);
      if (found[0] === 0) throw INVALID_COUNTRY_CODE;
    }
    var code = found[0], nsn = found[1];
    if (code !== 0) {
      var numberRegion = mainRegion(code);
      if (numberRegion !== region) meta = metaFor(code, numberRegion);
    } else {
      nsn += normalize(national);
      code = meta.cc;
    }
    if (nsn.length < MIN_NSN) throw NOT_A_NUMBER;
    if (meta) {
      var stripped = stripNationalPrefix(nsn, meta);
      var verdict = lengthVerdict(stripped, meta);
      if (verdict !== "too-short" && verdict !== "local-only" && verdict !== "invalid-length") nsn = stripped;
    }
    if (nsn.length < MIN_NSN || nsn.length > MAX_NSN) throw NOT_A_NUMBER;
    return { code: code, nsn: nsn };
  }

  function hasType(nsn, meta) {
    if (!matchesDesc(nsn, meta.general)) return false;
    for (var i = 0; i < meta.types.length; i++) {
      if (matchesDesc(nsn, meta.types[i])) return true;
    }
    return false;
  }

  // phonenumbers.is_valid_number: the number's region (by leading digits or type, where a
  // calling code is shared), then a type of that region's.
  function isValid(number) {
    var regions = R.regionsByCode[String(number.code)];
    if (!regions) return false;
    var region = regions.length === 1 ? regions[0] : null;
    for (var i = 0; !region && i < regions.length; i++) {
      var candidate = R.regions[regions[i]];
      if (!candidate) continue;
      if (candidate.ld !== undefined) {
        if (atStart(candidate.ld).test(number.nsn)) region = regions[i];
      } else if (hasType(number.nsn, candidate)) {
        region = regions[i];
      }
    }
    if (!region) return false;
    var meta = metaFor(number.code, region);
    if (!meta || (region !== "001" && number.code !== meta.cc)) return false;
    return hasType(number.nsn, meta);
  }

  function format(template, values) {
    return template.replace(/\{(\w+)\}/g, function (_, name) { return values[name]; });
  }

  window.dboltPhoneProblem = function (raw, region, countryName) {
    if (/[^\x20-\x7e]/.test(raw)) return undefined;
    var text = raw.trim();
    if (text.length > R.maxLength) return format(R.messages.too_long, { limit: R.maxLength });
    if (!region && text.charAt(0) !== "+") return format(R.messages.no_country, {});
    if (text.indexOf(";") >= 0) return undefined;
    var number;
    try {
      number = parse(text, region || null);
    } catch (error) {
      var example = (region && R.regions[region] && R.regions[region].example) || R.fallbackExample;
      return format(R.messages.not_a_number, { national: example[0], international: example[1] });
    }
    if (isValid(number)) return null;
    return format(R.messages.not_valid, { where: region ? " in " + countryName : "" });
  };
})();

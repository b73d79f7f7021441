/* Testimony Archive, static export: quote links and citations with no server.
 *
 * The app resolves a ?a= quote link on the server and answers anchor.json for a selection.
 * A static host does neither, so this script does both in the page, before archive.js runs
 * (both are deferred, this one first):
 *
 * - opening a link with ?a=: the compact anchor is parsed exactly as Anchor.from_param does
 *   (archive/anchors.py), the quoted words are looked for in the page's public text (the
 *   passages with data-offset, joined by a blank line, as the server joins them) by exact
 *   text, choosing between copies by their prefix/suffix context, the passage named in the
 *   URL and nearness to the old offsets, as the exact tiers of resolve_anchor do. Found: the
 *   offsets go into data-hl-start/data-hl-end, which archive.js marks and scrolls to, and
 *   the server's notice is shown, and the citation box (#cite_box) cites those words, as the
 *   server's page does. Not found: the server's notice, without the link's words.
 *   (The server also accepts lightly edited words; here a link whose words changed is
 *   orphaned, and the browser's own text fragment may still find them.)
 * - a selection: window.archiveStatic.anchorFor() returns what anchor.json returns (link,
 *   anchor, citations in every format), ported from make_anchor, Anchor.to_param,
 *   Anchor.to_text_fragment, archive/urls.py testimony_url and webapp/citations.py.
 *
 * Offsets: the server and archive.js count code points; JavaScript strings count UTF-16
 * units. They are converted here, so texts beyond the Basic Multilingual Plane agree.
 */
(function () {
  "use strict";

  // Every limit, threshold and table below is archive/anchors.py's own (BROWSER_RULES),
  // handed over by archive-common.js from the page (webapp/pageconfig.py).
  var shared = window.archivePage;
  var config = shared.config;
  var rules = config.anchor;
  var CONTEXT_CHARS = rules.context_chars;
  var MAX_QUOTE_CHARS = rules.max_quote_chars;
  var MAX_PARAM_CHARS = rules.max_param_chars;
  var MAX_OCCURRENCES = rules.max_occurrences;
  var SHORT_WORDS = rules.short_words;
  var SHORT_CHARS = rules.short_chars;
  var SUPPORT_BEST = rules.support_best;
  var SUPPORT_MEAN = rules.support_mean;
  var FRAGMENT_MAX_CHARS = rules.fragment_max_chars;
  var FRAGMENT_EDGE_WORDS = rules.fragment_edge_words;
  var FRAGMENT_EDGE_CHARS = rules.fragment_edge_chars;
  var W_QUOTE = rules.weights[0], W_PREFIX = rules.weights[1], W_SUFFIX = rules.weights[2], W_POS = rules.weights[3];
  var PARAM_RE = new RegExp("^(?:" + rules.param_re + ")$", "s");  // fullmatch, DOTALL
  var PART_RE = new RegExp("^(?:" + rules.part_re + ")$");
  var REF_RE = new RegExp("^(?:" + rules.ref_re + ")$");
  // Python's str.split()/isspace() whitespace and str.splitlines() breaks, not JavaScript's.
  var WS = config.python.whitespace;
  var WS_RUN = new RegExp("[" + WS + "]+");
  var WS_ONE = new RegExp("^[" + WS + "]$");
  var WS_ONLY = new RegExp("^[" + WS + "]+$");
  var LINE_BREAK = new RegExp("\\r\\n|[" + config.python.line_breaks + "]");
  var WORD_CHAR = new RegExp("^[\\p{L}\\p{N}" + rules.word_joiners + "]$", "u");
  var SEPARATOR = config.passage_separator;
  var FORMATS = config.citation.formats;

  function AnchorError(message, hint) {
    return new Error(hint ? message + " (" + hint + ")" : message);
  }

  // --- Python string semantics ------------------------------------------------------------

  function pySplit(s) { return s.split(WS_RUN).filter(function (w) { return w !== ""; }); }
  function isSpace(c) { return WS_ONE.test(c); }
  var cpLength = shared.codePoints;
  function isWord(c) { return WORD_CHAR.test(c); }

  var pyQuote = shared.pyQuote;
  var encodeFragment = shared.encodeFragment;
  function encodePart(s) { return pyQuote(s, "").replace(/-/g, "%2D").replace(/~/g, "%7E"); }

  function decodePart(part, what) {
    if (!PART_RE.test(part)) { throw AnchorError("quote parameter: the " + what + " is empty or badly encoded"); }
    try { return decodeURIComponent(part); } catch (e) {
      throw AnchorError("quote parameter: the " + what + " is not valid UTF-8");
    }
  }

  function checkQuote(exact) {
    if (!exact) { throw AnchorError("a quote needs at least one character"); }
    var length = cpLength(exact);
    if (length > MAX_QUOTE_CHARS) {
      throw AnchorError("quote is too long (" + length + " characters, at most " + MAX_QUOTE_CHARS + ")",
        "cite a shorter passage, or several");
    }
    if (WS_ONLY.test(exact)) { throw AnchorError("a quote cannot be only whitespace"); }
  }

  // Anchor(...) with the checks of its __post_init__; offsets are code points.
  function anchor(exact, prefix, suffix, start, end, testimony, passage) {
    checkQuote(exact);
    if (cpLength(prefix) > CONTEXT_CHARS || cpLength(suffix) > CONTEXT_CHARS) {
      throw AnchorError("anchor context is limited to " + CONTEXT_CHARS + " characters a side");
    }
    if (start < 0 || end - start !== cpLength(exact)) {
      throw AnchorError("anchor offsets " + start + "-" + end + " do not fit a quote of " +
        cpLength(exact) + " characters");
    }
    return { exact: exact, prefix: prefix, suffix: suffix, start: start, end: end,
      testimony: testimony || null, passage: passage || null };
  }

  // archive.anchors.parse_param: today's short form (offsets and checksum, no words) or
  // the earlier form with the words (Anchor.from_param).
  function parseParam(s) {
    if (typeof s !== "string") { throw AnchorError("quote parameter must be text"); }
    var ref = REF_RE.exec(s);
    if (ref) {
      var from = parseInt(ref[1], 10), to = parseInt(ref[2], 10);
      if (!(from < to) || to - from > MAX_QUOTE_CHARS) {
        throw AnchorError("quote link offsets " + from + "-" + to + " cannot hold a quote");
      }
      return { ref: true, start: from, end: to, check: ref[3] };
    }
    if (cpLength(s) > MAX_PARAM_CHARS) {
      throw AnchorError("quote parameter is too long (" + cpLength(s) + " characters, at most " + MAX_PARAM_CHARS + ")");
    }
    var m = PARAM_RE.exec(s);
    if (!m) {
      throw AnchorError("quote parameter is not in the form START-END.CHECK (for example " +
        "1269-1279.0k3x9ab), nor the earlier START-END~prefix-,exact,-suffix",
        "copy the link again from the archive, or use its short /q/ID/ link");
    }
    var pieces = m[3].split(",");
    if (pieces.length > 3) { throw AnchorError("quote parameter has too many ',' separated parts"); }
    var prefix = "", suffix = "";
    if (pieces.length > 1 && pieces[0].slice(-1) === "-") { prefix = decodePart(pieces.shift().slice(0, -1), "prefix"); }
    if (pieces.length > 1 && pieces[pieces.length - 1].charAt(0) === "-") { suffix = decodePart(pieces.pop().slice(1), "suffix"); }
    if (pieces.length !== 1) { throw AnchorError("quote parameter must hold exactly one quoted text"); }
    var exact = decodePart(pieces[0], "quote");
    return anchor(exact, prefix, suffix, parseInt(m[1], 10), parseInt(m[2], 10));
  }

  // Anchor.to_param: START-END.CHECK
  function toParam(a) { return a.start + "-" + a.end + "." + shared.checksum(a.exact); }

  function fold(s) { return shared.fold(s); }

  // archive.anchors.text_fragment: ``before`` is the text before the quote; ``cutBefore``
  // says its first word may be cut.
  function textFragment(exact, before, cutBefore) {
    var lines = exact.split(LINE_BREAK).map(function (line) { return pySplit(line).join(" "); })
      .filter(function (line) { return line !== ""; });
    var flat = lines.join(" ");
    var earlier = fold(pySplit(before).join(" "));
    var seen = earlier ? earlier + " " + fold(flat) : fold(flat);
    var at = seen.length - flat.length;
    function first(words) { return seen.indexOf(fold(words)) === at; }
    function fits(words) { return encodeFragment(words.join(" ")).length <= FRAGMENT_EDGE_CHARS; }
    var start, parts, size;
    if (lines.length === 1 && encodeFragment(flat).length <= FRAGMENT_MAX_CHARS) {
      start = flat;
      parts = [encodeFragment(flat)];
    } else {
      var words = pySplit(lines[0]);
      size = 1;
      while (size < Math.min(FRAGMENT_EDGE_WORDS, words.length) && !first(words.slice(0, size).join(" ")) &&
        fits(words.slice(0, size + 1))) { size += 1; }
      start = words.slice(0, size).join(" ");
      var pool = lines.length > 1 ? pySplit(lines[lines.length - 1]) : pySplit(flat).slice(size);
      var rest = fold(flat.slice(start.length));
      size = Math.min(1, pool.length);
      var tail = pool.slice(pool.length - size).join(" ");
      while (size < pool.length && rest.indexOf(fold(tail)) !== rest.length - tail.length &&
        fits(pool.slice(pool.length - size - 1))) {
        size += 1;
        tail = pool.slice(pool.length - size).join(" ");
      }
      parts = [encodeFragment(start)];
      if (tail && encodeFragment(tail).length <= FRAGMENT_MAX_CHARS) { parts.push(encodeFragment(tail)); }
    }
    if (!first(start)) {
      var line = before.slice(before.lastIndexOf("\n") + 1);
      var context = pySplit(line);
      if (context.length && cutBefore && isWord(Array.from(line)[0])) { context = context.slice(1); }
      context = context.slice(Math.max(0, context.length - FRAGMENT_EDGE_WORDS));
      size = 1;
      while (size < context.length) {
        var words2 = context.slice(context.length - size).join(" ");
        if (seen.indexOf(fold(words2 + " " + start)) === at - words2.length - 1) { break; }
        if (!fits(context.slice(context.length - size - 1))) { break; }
        size += 1;
      }
      var said = encodeFragment(context.slice(context.length - size).join(" "));
      if (context.length && said.length <= FRAGMENT_MAX_CHARS) { parts.unshift(said + "-"); }
    }
    return parts.join(",");
  }

  // Anchor.to_text_fragment: made from the whole text where the anchor was made here,
  // else from the anchor's own context.
  function toTextFragment(a) {
    if (a.fragment) { return a.fragment; }
    var cut = cpLength(a.prefix) === CONTEXT_CHARS && a.prefix.indexOf("\n") < 0;
    return textFragment(a.exact, a.prefix, cut);
  }

  // --- the page's public text ---------------------------------------------------------------

  var container = document.getElementById("testimony_text");
  if (!container) { return; }
  var meta = document.getElementById("export_meta");

  var passages = Array.prototype.slice.call(container.querySelectorAll("[data-offset]"))
    .map(function (el) {
      return { el: el, id: el.getAttribute("data-passage"), offset: parseInt(el.getAttribute("data-offset"), 10), text: el.textContent };
    })
    .sort(function (a, b) { return a.offset - b.offset; });
  var text = "";
  passages.forEach(function (p, i) {
    if (i) { text += SEPARATOR; }
    p.at = text.length;  // UTF-16 index in ``text``
    text += p.text;
  });
  var astral = /[\ud800-\udfff]/.test(text);

  function toCodePoints(index) { return astral ? cpLength(text.slice(0, index)) : index; }
  var unitsFor = shared.unitsFor;
  function fromCodePoints(cp) { return astral ? unitsFor(text, cp) : cp; }

  function passageAt(index) {
    var found = null;
    passages.forEach(function (p) { if (p.at <= index) { found = p; } });
    return found;
  }

  // archive.js's offsets: a passage's data-offset plus code points inside the passage.
  function fromPageOffset(offset) {
    var found = passages[0];
    passages.forEach(function (p) { if (p.offset <= offset) { found = p; } });
    return found ? found.at + unitsFor(found.text, offset - found.offset) : offset;
  }

  function toPageOffset(index) {
    var p = passageAt(index);
    return p ? p.offset + cpLength(text.slice(p.at, index)) : index;
  }

  // --- resolving a link ---------------------------------------------------------------------

  function levenshtein(a, b) {
    if (a === b) { return 0; }
    var previous = [], current = [], i, j;
    for (j = 0; j <= b.length; j++) { previous[j] = j; }
    for (i = 1; i <= a.length; i++) {
      current = [i];
      for (j = 1; j <= b.length; j++) {
        current[j] = Math.min(previous[j] + 1, current[j - 1] + 1,
          previous[j - 1] + (a.charAt(i - 1) === b.charAt(j - 1) ? 0 : 1));
      }
      previous = current;
    }
    return previous[b.length];
  }

  function sideSimilarity(context, window, atEdge) {
    if (!context) { return atEdge ? 1.0 : 0.0; }
    var longest = Math.max(context.length, window.length);
    return longest ? 1 - levenshtein(context, window) / longest : 1.0;
  }

  function contextScores(a, start, end) {
    var before = text.slice(Math.max(0, start - a.prefix.length), start);
    return [sideSimilarity(a.prefix, before, start === 0),
      sideSimilarity(a.suffix, text.slice(end, end + a.suffix.length), end === text.length)];
  }

  function score(quoteSim, p, s, at, hint) {
    var position = 1 - Math.min(1, Math.abs(at - hint) / Math.max(text.length, 1));
    return (W_QUOTE * quoteSim + W_PREFIX * p + W_SUFFIX * s + W_POS * position) /
      (W_QUOTE + W_PREFIX + W_SUFFIX + W_POS);
  }

  function isShort(exact) {
    return pySplit(exact).length < SHORT_WORDS || cpLength(exact.trim()) < SHORT_CHARS;
  }

  function better(x, y) {
    for (var i = 0; i < x.length; i++) {
      if (x[i] !== y[i]) { return x[i] > y[i]; }
    }
    return false;
  }

  // archive.anchors.resolve_ref: the folded words with the link's checksum at the old
  // offsets, else the copy nearest them that starts where a word starts.
  function resolveRef(r) {
    var t = fold(text);
    var cpTotal = toCodePoints(text.length);
    var span = r.end - r.start;
    function unitEnd(at) { return astral ? at + unitsFor(text.slice(at), span) : at + span; }
    if (r.end <= cpTotal) {
      var a0 = fromCodePoints(r.start), b0 = fromCodePoints(r.end);
      if (shared.checksum(t.slice(a0, b0)) === r.check) { return { start: a0, end: b0, score: 1.0 }; }
    }
    var best = null, bestCp = null;
    for (var at = 0; at < t.length; at++) {
      if (at > 0 && isWord(t.charAt(at - 1)) && isWord(t.charAt(at))) { continue; }
      var cp = toCodePoints(at);
      if (cp + span > cpTotal) { break; }
      if (best !== null && Math.abs(cp - r.start) >= Math.abs(bestCp - r.start)) { continue; }
      var end = unitEnd(at);
      if (shared.checksum(t.slice(at, end)) === r.check) { best = at; bestCp = cp; }
    }
    if (best === null) { return null; }
    var position = 1 - Math.min(1, Math.abs(bestCp - r.start) / Math.max(cpTotal, 1));
    var s = (W_QUOTE + W_PREFIX + W_SUFFIX + W_POS * position) / (W_QUOTE + W_PREFIX + W_SUFFIX + W_POS);
    return { start: best, end: unitEnd(best), score: Math.min(s, 0.999) };
  }

  // resolve_anchor's exact tiers; ``passageId`` (from the URL) prefers copies in that passage.
  function resolve(a, passageId) {
    if (a.ref) { return resolveRef(a); }
    var hint = fromCodePoints(a.start);
    var length = a.exact.length;
    if (text.startsWith(a.exact, hint)) {
      var fast = contextScores(a, hint, hint + length);
      if (fast[0] === 1 && fast[1] === 1) { return { start: hint, end: hint + length, score: 1.0 }; }
    }
    var positions = [];
    for (var i = text.indexOf(a.exact); i !== -1; i = text.indexOf(a.exact, i + 1)) { positions.push(i); }
    if (!positions.length) { return null; }
    if (positions.length > MAX_OCCURRENCES) {
      positions.sort(function (x, y) { return Math.abs(x - hint) - Math.abs(y - hint); });
      positions = positions.slice(0, MAX_OCCURRENCES);
    }
    var target = passages.filter(function (p) { return p.id === passageId; })[0];
    var best = null;
    positions.forEach(function (at) {
      var ctx = contextScores(a, at, at + length);
      var supported = Math.max(ctx[0], ctx[1]) >= SUPPORT_BEST || (ctx[0] + ctx[1]) / 2 >= SUPPORT_MEAN;
      var inPassage = target && at >= target.at && at < target.at + target.text.length ? 1 : 0;
      var key = [supported ? 1 : 0, ctx[0] + ctx[1], inPassage, -Math.abs(at - hint), at, ctx[0], ctx[1]];
      if (best === null || better(key, best)) { best = key; }
    });
    var at = best[4];
    if (!best[0] && isShort(a.exact)) { return null; }
    var s = at === hint ? 1.0 : Math.min(score(1.0, best[5], best[6], at, hint), 0.999);
    return { start: at, end: at + length, score: s };
  }

  function readParam() {
    // The link's ``a`` value once decoded (today's links escape it as any query value);
    // links that carry it unescaped, as the server also accepts, are read raw.
    var raw = null;
    location.search.replace(/^\?/, "").split("&").forEach(function (pair) {
      var eq = pair.indexOf("=");
      if (raw === null && eq > 0 && pair.slice(0, eq) === "a") { raw = pair.slice(eq + 1); }
    });
    if (raw === null || raw === "") { return null; }
    var decoded = null;
    try { decoded = decodeURIComponent(raw.replace(/\+/g, " ")); } catch (e) { decoded = null; }
    var first = null;
    if (decoded !== null) {
      try { return parseParam(decoded); } catch (e) { first = e; }
    }
    try { return parseParam(raw); } catch (e) { throw first || e; }
  }

  function show(id) {
    var notice = document.getElementById(id);
    if (notice) { notice.hidden = false; }
    return notice;
  }

  function openLink() {
    var a;
    try { a = readParam(); } catch (error) {
      var notice = show("quote_error");
      if (notice) { notice.querySelector(".quote-error__reason").textContent = error.message; }
      return;
    }
    if (a === null) { return; }
    var passageId = decodeURIComponent(location.hash.replace(/^#/, "").split(":~:")[0]);
    var match = resolve(a, passageId);
    if (match === null) {
      // Only that the words are not in the text: never that it was edited, and never the
      // link's words (anyone can write a link; an earlier link's words are its own).
      show("quote_orphan");
      return;
    }
    container.setAttribute("data-hl-start", String(toPageOffset(match.start)));
    container.setAttribute("data-hl-end", String(toPageOffset(match.end)));
    var found = show("quote_notice");
    if (found) {
      var exact = match.score === 1.0;
      found.querySelector("[data-when=exact]").hidden = !exact;
      found.querySelector("[data-when=moved]").hidden = exact;
      var p = passageAt(match.start);
      if (p) { found.querySelector(".jump-link").setAttribute("href", "#" + p.id); }
    }
    citeQuote(match);
  }

  // The citation box cites the quote the page was opened at, as the server's page does
  // (the template holds both wordings; data-when says which shows).
  function citeQuote(match) {
    var box = document.getElementById("cite_box");
    if (!box) { return; }
    var made;
    try { made = anchorFor({ start: toPageOffset(match.start), end: toPageOffset(match.end) }); } catch (e) { return; }
    var name = config.citation.quote_download_name;
    made.citations.forEach(function (item) {
      var id = "cite_" + item.format.replace(/\./g, "_");
      var pre = document.getElementById(id);
      // LF, as HTML reads the server's page; the download puts RIS's CRLF back (data-crlf).
      if (pre) { pre.textContent = item.text.replace(/\r\n/g, "\n"); }
      var save = box.querySelector("[data-download='" + id + "']");
      if (save) {
        save.setAttribute("data-filename", name.replace("{id}", made.testimony)
          .replace("{start}", String(made.anchor.start)).replace("{format}", item.format));
      }
    });
    document.getElementById("cite_quote").textContent = made.quote;
    var link = document.getElementById("cite_link");
    link.setAttribute("href", made.url);
    link.textContent = made.url;
    Array.prototype.forEach.call(box.querySelectorAll("[data-when]"), function (el) {
      el.hidden = el.getAttribute("data-when") !== "quote";
    });
    box.setAttribute("data-cites", "quote");
  }

  // --- a selection: what anchor.json answers -------------------------------------------------

  function isoDate(d) {
    function pad(n) { return (n < 10 ? "0" : "") + n; }
    return d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate());
  }

  function citationData() {
    var t = JSON.parse(meta.getAttribute("data-cite"));
    return { t: t, base: meta.getAttribute("data-cite-url"), site: meta.getAttribute("data-site-name"),
      ledger: JSON.parse(meta.getAttribute("data-ledger-quotes") || "[]") };
  }

  function anchorFor(range, options) {
    options = options || {};
    var start = fromPageOffset(range.start);
    var end = fromPageOffset(range.end);
    if (0 <= start && start < end && end <= text.length) {
      while (start < end && isSpace(text.charAt(start))) { start += 1; }
      while (end > start && isSpace(text.charAt(end - 1))) { end -= 1; }
    }
    var cpStart = toCodePoints(start), cpEnd = toCodePoints(end), cpTotal = toCodePoints(text.length);
    if (!(0 <= cpStart && cpStart < cpEnd && cpEnd <= cpTotal)) {
      throw AnchorError("quote offsets " + cpStart + "-" + cpEnd + " are outside the text (0-" + cpTotal + ")",
        "select at least one character of the testimony");
    }
    var exact = text.slice(start, end);
    checkQuote(exact);
    var before = Array.from(text.slice(Math.max(0, start - 2 * CONTEXT_CHARS), start));
    var after = Array.from(text.slice(end, end + 2 * CONTEXT_CHARS));
    var data = citationData();
    var p = passageAt(start);
    var passage = p ? p.id : null;
    var a = anchor(exact, before.slice(Math.max(0, before.length - CONTEXT_CHARS)).join(""),
      after.slice(0, CONTEXT_CHARS).join(""), cpStart, cpEnd, data.t.id, passage);
    a.fragment = textFragment(exact, text.slice(0, start), false);  // as make_anchor does
    var url = shared.testimonyUrl(data.base, passage, toParam(a), toTextFragment(a));
    var tail = url.slice(data.base.length);
    // Words in the quote ledger are linked and cited with their short link, as the server does.
    var printed = data.ledger.filter(function (q) { return q.start === cpStart && q.end === cpEnd; })[0];
    if (printed) { url = printed.url; }
    var accessed = options.accessed || isoDate(new Date());
    var citation = { t: data.t, url: url, accessed: accessed, site: data.site, anchor: a };
    return {
      testimony: data.t.id,
      passage: passage,
      quote: a.exact,
      anchor: a,
      param: toParam(a),
      url: url,
      path: location.pathname + tail,
      citations: FORMATS.map(function (f) { return { format: f[0], label: f[1], text: render(citation, f[0]) }; })
    };
  }

  // --- citations (webapp/citations.py) -------------------------------------------------------

  function quotePreview(c) {
    var words = Array.from(pySplit(c.anchor.exact).join(" "));
    var most = config.citation.quote_preview;
    return words.length <= most ? words.join("") : words.slice(0, most - 1).join("") + "…";
  }

  function dateParts(iso) { return iso.split("-").map(function (p) { return parseInt(p, 10); }); }
  function pad(n, width) { var s = String(n); while (s.length < width) { s = "0" + s; } return s; }
  function citationKey(c) {
    return c.t.id.replace(/[^A-Za-z0-9]+/g, "_").replace(/^_+|_+$/g, "") + "_" + c.anchor.start;
  }

  // "at 12:34–13:02" (citations.py's _at): the quote's passage's time button carries the span.
  function at(c) {
    var turn = c.anchor.passage && document.getElementById(c.anchor.passage);
    var time = turn && turn.querySelector(".passage-time[data-span]");
    return time ? "at " + time.getAttribute("data-span") : null;
  }
  function quoteNote(c, quote, open, close) {
    var where = at(c);
    return "Quoted: " + (open || "“") + quote + (close || "”") + (where ? ", " + where : "");
  }

  function plainText(c) {
    var t = c.t, parts = [];
    if (t.narrator) { parts.push(t.narrator + "."); }
    parts.push("“" + t.title + ".”");
    var details = [t.interviewer ? "Interview by " + t.interviewer : "Interview"];
    if (t.date) { details.push(t.date); }
    if (t.place) { details.push(t.place); }
    if (at(c)) { details.push(at(c)); }
    parts.push(details.join(", ") + ".");
    parts.push(c.site + ".");
    if (t.license) { parts.push("License: " + t.license + "."); }
    parts.push(c.url + " (accessed " + c.accessed + ").");
    return "“" + quotePreview(c) + "” — " + parts.join(" ");
  }

  function cslJson(c) {
    var t = c.t;
    var item = { id: citationKey(c), type: "interview", title: t.title, language: t.language, URL: c.url,
      accessed: { "date-parts": [dateParts(c.accessed)] }, publisher: c.site };
    if (t.narrator) { item.author = [{ literal: t.narrator }]; }
    if (t.interviewer) { item.interviewer = [{ literal: t.interviewer }]; }
    if (t.date) { item.issued = { "date-parts": [dateParts(t.date)] }; }
    if (t.place) { item["event-place"] = t.place; }
    if (t.source) { item.source = t.source; }
    if (t.license) { item.license = t.license; }
    item.note = quoteNote(c, quotePreview(c));
    return JSON.stringify([item], null, 2) + "\n";
  }

  var BIB_SPECIAL = new RegExp(config.citation.bibtex_special, "g");
  var BIB_REPLACE = config.citation.bibtex_replace;
  function bib(value) {
    return pySplit(value).join(" ").replace(BIB_SPECIAL, function (ch) { return BIB_REPLACE[ch] || "\\" + ch; });
  }

  function bibtex(c) {
    var t = c.t, fields = [["title", bib(t.title)]];
    if (t.narrator) { fields.push(["author", "{" + bib(t.narrator) + "}"]); }
    if (t.interviewer) { fields.push(["editor", "{" + bib(t.interviewer) + "}"]); }
    if (t.date) {
      var d = dateParts(t.date);
      fields.push(["year", String(d[0])]);
      if (d.length > 1) { fields.push(["month", String(d[1])]); }
      fields.push(["date", t.date]);
    }
    if (t.place) { fields.push(["address", bib(t.place)]); }
    fields.push(["howpublished", "Interview, " + bib(c.site)]);
    fields.push(["url", c.url.replace(/\\/g, "").replace(/\}/g, "%7D").replace(/\{/g, "%7B")]);
    fields.push(["urldate", c.accessed]);
    fields.push(["language", t.language]);
    var notes = [quoteNote(c, bib(quotePreview(c)), "``", "''")];
    if (t.license) { notes.push("License: " + bib(t.license)); }
    fields.push(["note", notes.join(". ")]);
    var body = fields.map(function (f) { return "  " + f[0] + " = {" + f[1] + "}"; }).join(",\n");
    return "@misc{" + citationKey(c) + ",\n" + body + "\n}\n";
  }

  function risLine(tag, value) { return tag + "  - " + pySplit(value).join(" "); }

  function ris(c) {
    var t = c.t;
    var lines = [risLine("TY", "PCOMM"), risLine("TI", t.title), risLine("M3", "Interview")];
    if (t.narrator) { lines.push(risLine("AU", t.narrator)); }
    if (t.interviewer) { lines.push(risLine("A2", t.interviewer)); }
    if (t.date) {
      var d = dateParts(t.date);
      lines.push(risLine("DA", pad(d[0], 4) + "/" + (d.length > 1 ? pad(d[1], 2) : "") + "/" + (d.length > 2 ? pad(d[2], 2) : "")));
      lines.push(risLine("PY", pad(d[0], 4)));
    }
    if (t.place) { lines.push(risLine("CY", t.place)); }
    lines.push(risLine("PB", c.site));
    lines.push(risLine("LA", t.language));
    lines.push(risLine("UR", c.url));
    lines.push(risLine("Y2", c.accessed.replace(/-/g, "/")));
    lines.push(risLine("N1", quoteNote(c, quotePreview(c))));
    if (t.license) { lines.push(risLine("N1", "License: " + t.license)); }
    lines.push("ER  - ");
    return lines.join("\r\n") + "\r\n";
  }

  function webAnnotation(c) {
    var a = c.anchor;
    var annotation = {
      "@context": config.citation.annotation_context,
      id: c.url,
      type: "Annotation",
      motivation: "highlighting",
      target: {
        source: c.url.split("#")[0].split("?")[0],
        type: "Text",
        selector: [
          { type: "TextQuoteSelector", exact: a.exact, prefix: a.prefix, suffix: a.suffix },
          { type: "TextPositionSelector", start: a.start, end: a.end }
        ]
      },
      body: { type: "TextualBody", value: plainText(c), format: "text/plain", purpose: "describing" }
    };
    return JSON.stringify(annotation, null, 2) + "\n";
  }

  function render(c, format) {
    return { txt: plainText, bib: bibtex, ris: ris, "csl.json": cslJson, "annotation.json": webAnnotation }[format](c);
  }

  window.archiveStatic = {
    anchorFor: anchorFor,
    cite: function (t, url, accessed, site, a, format) {
      return render({ t: t, url: url, accessed: accessed, site: site, anchor: a }, format);
    },
    parseParam: parseParam,
    toParam: toParam,
    toTextFragment: toTextFragment,
    resolve: function (a, passageId) {
      var m = resolve(a, passageId || "");
      return m && { start: toCodePoints(m.start), end: toCodePoints(m.end), score: m.score };
    }
  };

  // A #passage link whose text fragment the browser could not match (or does not know)
  // still lands on the passage.
  function reachPassage() {
    var id = decodeURIComponent(location.hash.replace(/^#/, "").split(":~:")[0]);
    var target = id && document.getElementById(id);
    if (!target || !container.contains(target) || container.hasAttribute("data-hl-start")) { return; }
    window.addEventListener("load", function () {
      window.setTimeout(function () {
        var r = target.getBoundingClientRect();
        if (r.bottom < 0 || r.top > window.innerHeight) { target.scrollIntoView({ block: "center" }); }
      }, 150);
    });
  }

  openLink();
  reachPassage();
}());

/* Testimony Archive: what the page scripts share, loaded (deferred) before them.
 *
 * - window.archivePage.config: what the scripts share with Python (limits, tuning constants,
 *   folding table, query syntax, facets, citation formats), made by webapp/pageconfig.py from
 *   the modules that own each and carried by this script's own data-page-config attribute
 *   (static export only: the live app's pages need none of it).
 * - helpers the three scripts need alike: code point offsets, Python's URL quoting, the
 *   testimony link, folding, a short link's checksum and the query syntax the static
 *   search reads.
 * tests/data/shared_cases.json checks the rules here and in Python against one table.
 */
(function () {
  "use strict";

  var script = document.currentScript;
  var raw = script && script.getAttribute("data-page-config");
  var config = raw ? JSON.parse(raw) : null;

  // Offsets count code points, as the server does; the DOM counts UTF-16 units, two for a
  // character beyond the Basic Multilingual Plane (an emoji, a rare CJK character).
  function codePoints(text) { return Array.from(text).length; }

  // The UTF-16 index in ``text`` after its first ``points`` code points. Two units only for a
  // whole surrogate pair: a lone surrogate counts once, as codePoints (Array.from) counts it,
  // and the index never passes the end of the text.
  function unitsFor(text, points) {
    var i = 0;
    for (; points > 0 && i < text.length; points--) {
      var c = text.charCodeAt(i);
      var next = i + 1 < text.length ? text.charCodeAt(i + 1) : 0;
      i += c >= 0xd800 && c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff ? 2 : 1;
    }
    return i;
  }

  // urllib.parse.quote(s, safe): leaves letters, digits, _.-~ and ``safe`` unescaped.
  function pyQuote(s, safe) {
    var out = encodeURIComponent(s).replace(/[!'()*]/g, function (c) {
      return "%" + c.charCodeAt(0).toString(16).toUpperCase();
    });
    if (safe && safe.indexOf("/") >= 0) { out = out.replace(/%2F/g, "/"); }
    return out;
  }

  // Text Fragments reserve '&', ',' and '-'; quote() leaves only '-' of those.
  function encodeFragment(s) { return pyQuote(s, "").replace(/-/g, "%2D"); }

  // zlib.crc32 of UTF-8 bytes (the standard CRC-32), for archive.anchors.checksum.
  var crcTable = null;
  function crc32(bytes) {
    if (crcTable === null) {
      crcTable = [];
      for (var n = 0; n < 256; n++) {
        var c = n;
        for (var k = 0; k < 8; k++) { c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1; }
        crcTable.push(c >>> 0);
      }
    }
    var crc = 0xffffffff;
    for (var i = 0; i < bytes.length; i++) { crc = crcTable[(crc ^ bytes[i]) & 0xff] ^ (crc >>> 8); }
    return (crc ^ 0xffffffff) >>> 0;
  }

  // archive.anchors.checksum: a short link's CHECK, the CRC-32 of the folded words in base 36.
  function checksum(exact) {
    var digits = crc32(new TextEncoder().encode(fold(exact))).toString(36);
    while (digits.length < config.anchor.check_chars) { digits = "0" + digits; }
    return digits;
  }

  // archive.urls.testimony_url from the testimony's own URL: ?a= (an anchor's compact form),
  // #passage and a :~:text= fragment, each when given.
  function testimonyUrl(url, passage, param, fragment) {
    if (param) { url += "?" + config.testimony_url.anchor_param + "=" + pyQuote(param, ""); }
    var hash = (passage ? pyQuote(passage, "/") : "") + (fragment ? ":~:text=" + fragment : "");
    return hash ? url + "#" + hash : url;
  }

  // archive.anchors' length-preserving fold: case, ё, typographic spaces, quotes and dashes.
  function fold(text) {
    var low = text.toLowerCase();
    if (low.length !== text.length) {  // a few characters lower to two ('İ'): keep offsets
      low = Array.from(text).map(function (c) { var l = c.toLowerCase(); return l.length === c.length ? l : c; }).join("");
    }
    config.anchor.fold_pairs.forEach(function (pair) { low = low.split(pair[0]).join(pair[1]); });
    return low;
  }

  // The archive's query syntax (archive/query.py) as far as Pagefind can search it: words,
  // "phrases" and prefix* words; theme: and lang: become filters. What Pagefind cannot do
  // (either word, leaving words out, other fields, grouping) is left out and named:
  // searching "-hospital" for "hospital", or "OR" as a word, would show a reader the
  // opposite of what was asked. Quotes are read first, as the server reads them, so a
  // phrase keeps its words whole.
  function parseQuery(q) {
    var syntax = config.query;
    var AND = syntax.operators[0], OR = syntax.operators[1], NOT = syntax.operators[2];
    var marks = new RegExp("[" + syntax.quote_marks.replace(/"/g, "") + "]", "g");
    var filters = {};
    var terms = [];
    var unsupported = [];
    var text = q.trim().replace(marks, '"');
    var tokens = [];
    var pattern = /(-?)"([^"]*)"?|(\S+)/g;
    var found;
    while ((found = pattern.exec(text)) !== null) {
      tokens.push(found[3] !== undefined ? { word: found[3] } : { phrase: found[2].trim(), minus: found[1] === "-" });
    }
    for (var i = 0; i < tokens.length; i++) {
      var token = tokens[i];
      var negated = i > 0 && tokens[i - 1].word === NOT;
      if (token.phrase !== undefined) {
        if (token.minus || negated) {
          unsupported.push((token.minus ? "-" : NOT + " ") + '"' + token.phrase + '"');
        } else if (token.phrase) {
          terms.push('"' + token.phrase + '"');
        }
        continue;
      }
      var word = token.word;
      var field = /^([A-Za-z]+):(.+)$/.exec(word);
      var name = field ? syntax.fields[field[1].toLowerCase()] : undefined;
      var facet = name ? syntax.filter_facets[name] : undefined;
      if (word === NOT) {
        if (i + 1 === tokens.length) { unsupported.push(word); }
      } else if (negated) {
        unsupported.push(NOT + " " + word);
      } else if (facet) {
        filters[facet] = (filters[facet] || []).concat([field[2].toLowerCase()]);
      } else if (word === OR || /^-[^\s-]/.test(word) || name) {
        unsupported.push(word);
      } else if (word !== AND) {  // every word must match here anyway
        var bare = word.replace(/^\(+/, "").replace(/\)+$/, "");
        if (bare !== word) { unsupported.push("( )"); }
        if (bare) { terms.push(bare); }
      }
    }
    return {
      words: terms, filters: filters,
      unsupported: unsupported.filter(function (v, n) { return unsupported.indexOf(v) === n; })
    };
  }

  window.archivePage = {
    config: config,
    codePoints: codePoints,
    unitsFor: unitsFor,
    pyQuote: pyQuote,
    encodeFragment: encodeFragment,
    testimonyUrl: testimonyUrl,
    fold: fold,
    checksum: checksum,
    parseQuery: parseQuery
  };
}());

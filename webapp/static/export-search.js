/* Testimony Archive, static export: search and quote checking in the browser, with Pagefind.
 *
 * The export indexes every testimony page with Pagefind (the passages region is the body;
 * theme, language, place and decade are filters; title, narrator and date are metadata).
 * This script reads the same URL parameters as the server's search page (q, theme, language,
 * place, decade, page) or quote page (text), asks Pagefind's JS API, and renders the answer
 * into the same markup the server renders, so the stylesheet and the links behave alike.
 * Every text from the index is inserted with textContent: nothing is parsed as HTML.
 *
 * Passages are the hits: Pagefind returns each page's words (content), where the query
 * matched (locations) and every element with an id (anchors); the passage of a hit is the
 * last passage anchor at or before it, and its link is the testimony page #passage-id.
 */
(function () {
  "use strict";

  var root = document.getElementById("static_search");
  if (!root) { return; }
  var mode = root.getAttribute("data-mode");
  var labels = JSON.parse(root.getAttribute("data-labels") || "{}");
  var searchUrl = root.getAttribute("data-search-url");
  var shared = window.archivePage;
  var FACETS = shared.config.facets;  // [name, heading], as the server's search page shows them
  var PER_PAGE = 10;  // testimonies per page: each loads its own fragment of the index
  var HITS_PER_TESTIMONY = 3;
  var SNIPPET_WORDS = 30;
  var params = new URLSearchParams(location.search);
  var loading = null;

  function pagefind() {
    if (loading === null) {
      loading = import(root.getAttribute("data-pagefind")).then(function (pf) {
        // Searching on the page's own thread spares loading Pagefind's worker script (40 KB);
        // one search at a time is quick enough there.
        var options = { baseUrl: root.getAttribute("data-site-root"), noWorker: true };
        return pf.options(options).then(function () { return pf; });
      });
    }
    return loading;
  }

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (name) {
      if (attrs[name] !== null && attrs[name] !== undefined && attrs[name] !== false) {
        node.setAttribute(name, attrs[name] === true ? "" : String(attrs[name]));
      }
    });
    (children || []).forEach(function (child) {
      if (child === null || child === undefined) { return; }
      node.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
    });
    return node;
  }

  function status(message, kind) {
    root.textContent = "";
    root.appendChild(el("p", { "class": "notice" + (kind ? " notice--" + kind : ""), role: kind === "error" ? "alert" : "status" }, [message]));
  }

  function fail(error) {
    status("The search could not run in this browser: " + (error && error.message ? error.message : error) +
      ". Browse the testimonies by theme, place, date or language instead.", "error");
  }

  // --- sub-results: a page's matching words, grouped by passage ------------------------------

  function passageAnchors(data) {
    return (data.anchors || []).filter(function (a) { return a.id && !/^h[1-6]$/i.test(a.element || ""); })
      .sort(function (x, y) { return x.location - y.location; });
  }

  function anchorIndexAt(anchors, location) {
    var found = -1;
    for (var i = 0; i < anchors.length && anchors[i].location <= location; i++) { found = i; }
    return found;
  }

  function passageHits(data, limit) {
    var words = data.content.split(/\s+/);
    var anchors = passageAnchors(data);
    var groups = {};
    var order = [];
    (data.locations || []).forEach(function (location) {
      var i = anchorIndexAt(anchors, location);
      if (i < 0) { return; }
      if (!groups[i]) { groups[i] = []; order.push(i); }
      groups[i].push(location);
    });
    order.sort(function (x, y) { return groups[y].length - groups[x].length || x - y; });
    return order.slice(0, limit).sort(function (x, y) { return x - y; }).map(function (i) {
      var start = anchors[i].location;
      var end = i + 1 < anchors.length ? anchors[i + 1].location : words.length;
      var first = groups[i][0];
      var from = Math.max(start, first - Math.floor(SNIPPET_WORDS / 3));
      var to = Math.min(end, from + SNIPPET_WORDS);
      return { id: anchors[i].id, words: words, from: from, to: to, start: start, end: end, marks: groups[i] };
    });
  }

  function snippet(hit) {
    var parts = [];
    if (hit.from > hit.start) { parts.push("… "); }
    for (var i = hit.from; i < hit.to; i++) {
      var word = hit.words[i];
      if (i > hit.from) { parts.push(" "); }
      parts.push(hit.marks.indexOf(i) >= 0 ? el("mark", {}, [word]) : word);
    }
    if (hit.to < hit.end) { parts.push(" …"); }
    return parts;
  }

  function passageUrl(data, id, fragment) { return shared.testimonyUrl(data.url, id, null, fragment); }

  var encodeFragment = shared.encodeFragment;

  // Pagefind's words keep their punctuation, and it ends a block that has none with a full
  // stop of its own: a text fragment drops punctuation at its edges, so it matches the page
  // (a browser matches whole words, so "border" still finds "border.").
  var EDGE_START = /^[^\p{L}\p{N}]+/u;
  var EDGE_END = /[^\p{L}\p{N}]+$/u;
  function trimmed(text) { return text.replace(EDGE_START, "").replace(EDGE_END, ""); }

  // A browser that supports Text Fragments highlights the hit word, told apart from
  // other copies by its neighbours in the passage; others just scroll to the passage.
  function hitFragment(hit) {
    var at = hit.marks[0];
    var word = trimmed(hit.words[at]);
    if (!word) { return ""; }
    var before = trimmed(hit.words.slice(Math.max(hit.start, at - 3), at).join(" "));
    var after = trimmed(hit.words.slice(at + 1, Math.min(hit.end, at + 4)).join(" "));
    return (before ? encodeFragment(before) + "-," : "") + encodeFragment(word) +
      (after ? ",-" + encodeFragment(after) : "");
  }

  function metaLine(data) {
    var meta = data.meta || {};
    var lang = meta.language || null;
    return el("p", { "class": "card__meta" }, [
      meta.narrator ? el("span", { lang: lang }, [meta.narrator]) : null,
      meta.date ? el("span", {}, [meta.date]) : null,
      el("span", {}, [meta.language_name || lang || ""])
    ]);
  }

  // --- search ------------------------------------------------------------------------------

  function readQuery() {
    var filters = {};
    FACETS.forEach(function (f) {
      var values = params.getAll(f[0]).map(function (v) { return v.trim(); }).filter(Boolean);
      if (values.length) { filters[f[0]] = values.filter(function (v, i) { return values.indexOf(v) === i; }); }
    });
    // theme:slug and lang:xx in the query, as the server reads them, become filters here.
    var parsed = shared.parseQuery(params.get("q") || "");
    Object.keys(parsed.filters).forEach(function (facet) {
      filters[facet] = (filters[facet] || []).concat(parsed.filters[facet]);
    });
    var page = parseInt(params.get("page") || "1", 10);
    return {
      q: (params.get("q") || "").trim(), words: parsed.words, filters: filters,
      page: page > 0 ? page : 1, unsupported: parsed.unsupported
    };
  }

  // --- other forms of Russian and Ukrainian words ------------------------------------------
  // Pagefind has English word rules only, but finds every word that begins with a query word.
  // The export's table (archive/wordforms.py) gives, for each Cyrillic form, stem and lemma of
  // the public text, the beginning its forms share: "мобилизация", which no text uses, comes
  // down to the stem "мобилизац", whose forms share "мобилизаци"; that finds "мобилизации" and
  // "мобилизацию", as the server's search does. One file per first two letters.

  var wordStartsUrl = root.getAttribute("data-word-starts");
  var wordFiles = (root.getAttribute("data-word-files") || "").split(" ");
  // archive.wordforms.MIN_START and MAX_ENDING: the shortest beginning, the longest ending.
  var wordRules = (root.getAttribute("data-word-rules") || "").split(" ").map(Number);
  var MIN_START = wordRules[0];
  var MAX_ENDING = wordRules[1];
  var CYRILLIC_WORD = /^[\u0400-\u04ff]+$/;
  var startTables = {};

  // archive.wordforms.pagefind_form (the same for Cyrillic words): what Pagefind compares,
  // without Pagefind's marks (\p{M}) nor what the archive's tokenizer keeps inside a word
  // (analysis.INWORD: marks and invisible characters, given by the page).
  var inWord = new RegExp("\\p{M}|" + (root.getAttribute("data-word-marks") || "\\p{M}"), "gu");
  function pagefindForm(word) {
    return word.toLowerCase().normalize("NFD").replace(inWord, "");
  }

  function startTable(form) {
    var name = Array.from(form).slice(0, 2).map(function (c) {
      return ("000" + c.codePointAt(0).toString(16)).slice(-4);
    }).join("");
    if (wordFiles.indexOf(name) < 0) { return Promise.resolve({}); }  // no public word begins so
    if (!startTables[name]) {
      startTables[name] = fetch(wordStartsUrl + name + ".json").then(function (response) {
        if (!response.ok) { throw new Error("the word list answered " + response.status); }
        return response.json();
      });
    }
    return startTables[name];
  }

  // The beginning to search a query word by: the word itself unless it is in Cyrillic; null
  // when the table cannot resolve it (Pagefind would otherwise split it into shorter words
  // it knows, "заявление" into "за"). A table file that fails to load leaves the word as typed.
  function wordStart(word) {
    var form = pagefindForm(trimmed(word));
    if (!CYRILLIC_WORD.test(form)) { return Promise.resolve(word); }
    return startTable(form).then(function (table) {
      var own = Object.prototype.hasOwnProperty;
      if (own.call(table, form)) { return table[form]; }
      for (var cut = 1; cut <= MAX_ENDING && form.length - cut >= MIN_START; cut++) {
        var shorter = form.slice(0, form.length - cut);
        if (own.call(table, shorter)) { return table[shorter]; }
      }
      return null;
    }, function () { return word; });
  }

  // The words to give Pagefind (phrases and prefix* words as typed), or null if one of them
  // cannot match: every word must.
  function pagefindTerms(query) {
    return Promise.all(query.words.map(function (word) {
      return /^"|\*$/.test(word) ? word : wordStart(word);
    })).then(function (starts) {
      return starts.indexOf(null) >= 0 ? null : starts.join(" ");
    });
  }

  function searchHref(q, filters, page) {
    var out = new URLSearchParams();
    if (q) { out.append("q", q); }
    FACETS.forEach(function (f) { (filters[f[0]] || []).forEach(function (v) { out.append(f[0], v); }); });
    if (page > 1) { out.append("page", String(page)); }
    var query = out.toString();
    return searchUrl + (query ? "?" + query : "");
  }

  function label(facet, value) {
    return (labels[facet] && labels[facet][value]) || value;
  }

  function facetsAside(query, counts) {
    var sections = FACETS.map(function (f) {
      var facet = f[0];
      var chosen = query.filters[facet] || [];
      var values = Object.keys(counts[facet] || {}).filter(function (v) {
        return counts[facet][v] > 0 || chosen.indexOf(v) >= 0;
      });
      if (!values.length) { return null; }
      values.sort(function (x, y) { return counts[facet][y] - counts[facet][x] || (x < y ? -1 : 1); });
      var items = values.map(function (value) {
        var selected = chosen.indexOf(value) >= 0;
        var toggled = {};
        Object.keys(query.filters).forEach(function (k) { toggled[k] = query.filters[k].slice(); });
        toggled[facet] = selected ? chosen.filter(function (v) { return v !== value; }) : chosen.concat([value]);
        return el("li", {}, [el("a", {
          "class": "facet__link" + (selected ? " is-selected" : ""),
          href: searchHref(query.q, toggled, 1),
          "aria-current": selected ? "true" : null
        }, [
          el("span", { "class": "facet__box", "aria-hidden": "true" }),
          el("span", { "class": "visually-hidden" }, [selected ? "Remove filter " : "Filter by "]),
          label(facet, value) + " ",
          el("span", { "class": "count" }, [String(counts[facet][value] || 0)])
        ])]);
      });
      return el("section", { "class": "facet" }, [el("h3", {}, [f[1]]), el("ul", {}, items)]);
    });
    return el("aside", { "class": "facets", "aria-label": "Filters" },
      [el("h2", { "class": "small-heading" }, ["Filter"])].concat(sections));
  }

  function keepFilters(query) {
    var form = document.querySelector("form.big-search");
    if (!form) { return; }
    var input = form.querySelector("input[name=q]");
    if (input) { input.value = query.q; }
    FACETS.forEach(function (f) {
      (params.getAll(f[0]) || []).forEach(function (v) {
        form.appendChild(el("input", { type: "hidden", name: f[0], value: v }));
      });
    });
  }

  function pagination(query, pages) {
    if (pages <= 1) { return null; }
    return el("nav", { "class": "pagination", "aria-label": "Result pages" }, [
      query.page > 1 ? el("a", { rel: "prev", href: searchHref(query.q, query.filters, query.page - 1) }, ["← Previous"]) : null,
      el("span", {}, ["Page " + query.page + " of " + pages]),
      query.page < pages ? el("a", { rel: "next", href: searchHref(query.q, query.filters, query.page + 1) }, ["Next →"]) : null
    ]);
  }

  function hitGroup(data, index, hits) {
    var meta = data.meta || {};
    var lang = meta.language || null;
    return el("section", { "class": "hit-group", "aria-labelledby": "g_" + index }, [
      el("h2", { "class": "hit-group__title", id: "g_" + index }, [el("a", { href: data.url, lang: lang }, [meta.title || data.url])]),
      metaLine(data),
      hits.length ? el("ol", { "class": "hits" }, hits.map(function (hit) {
        return el("li", { "class": "hit" }, [el("a", { "class": "hit__link", href: passageUrl(data, hit.id, hitFragment(hit)), lang: lang }, snippet(hit))]);
      })) : null
    ]);
  }

  function unsupportedNotice(query) {
    return "This published copy of the archive searches words, “phrases”, theme: and lang: only, " +
      "so it left out: " + query.unsupported.join(", ") + ". The archive's own search reads them " +
      "(see the search help).";
  }

  function runSearch() {
    var query = readQuery();
    keepFilters(query);
    var filtered = Object.keys(query.filters).length > 0;
    if (!query.words.length && !filtered) {
      if (query.unsupported.length) { status(unsupportedNotice(query)); }
      return;
    }
    var prompt = document.querySelector("main .empty");
    if (prompt) { prompt.hidden = true; }
    status("Searching…");
    var filters = {};
    Object.keys(query.filters).forEach(function (k) { filters[k] = { any: query.filters[k] }; });
    Promise.all([pagefind(), pagefindTerms(query)]).then(function (ready) {
      var pf = ready[0];
      var terms = ready[1];
      if (terms === null) { return { results: [], filters: {} }; }
      return pf.filters().then(function () { return pf.search(terms || null, { filters: filters }); });
    }).then(function (search) {
      var results = search.results;
      var pages = Math.max(1, Math.ceil(results.length / PER_PAGE));
      var page = Math.min(query.page, pages);
      return Promise.all(results.slice((page - 1) * PER_PAGE, page * PER_PAGE).map(function (r) { return r.data(); }))
        .then(function (datas) { render(query, search, datas, pages); });
    }).catch(fail);
  }

  function render(query, search, datas, pages) {
    var total = search.results.length;
    var quoted = query.q ? " for “" + query.q + "”" : "";
    var count = el("p", { "class": "result-count", role: "status" }, [
      total ? total.toLocaleString("en") + " testimon" + (total === 1 ? "y" : "ies") + " found" + quoted + "." : "Nothing found" + quoted + ".",
      Object.keys(query.filters).length ? " " : null,
      Object.keys(query.filters).length ? el("a", { href: searchHref(query.q, {}, 1) }, ["Clear filters"]) : null
    ]);
    var children = [count];
    if (query.unsupported.length) {
      children.push(el("p", { "class": "notice", id: "search_unsupported" }, [unsupportedNotice(query)]));
    }
    if (!total) {
      children.push(el("div", { "class": "empty" }, [el("p", {}, ["Try fewer words, another form of the word, or the same search in another language."])]));
    }
    datas.forEach(function (data, i) {
      children.push(hitGroup(data, (query.page - 1) * PER_PAGE + i + 1, query.words.length ? passageHits(data, HITS_PER_TESTIMONY) : []));
    });
    children.push(pagination(query, pages));
    root.textContent = "";
    root.appendChild(el("div", { "class": "search-layout" }, [
      el("div", { "class": "search-results" }, children),
      facetsAside(query, search.filters || {})
    ]));
  }

  // --- quote check ---------------------------------------------------------------------------

  var NON_WORD = /[^\p{L}\p{N}]+/gu;

  // Words compared as archive.anchors compares quotes (shared.fold), punctuation aside.
  function tokens(text) {
    return shared.fold(text).replace(NON_WORD, " ").trim().split(" ").filter(Boolean);
  }

  // Where the quote's words occur, in order, in the page's words: [first word, last word] or null.
  function findVerbatim(words, wanted) {
    var flat = [];
    words.forEach(function (word, i) { tokens(word).forEach(function (t) { flat.push([t, i]); }); });
    outer:
    for (var s = 0; s + wanted.length <= flat.length; s++) {
      for (var k = 0; k < wanted.length; k++) {
        if (flat[s + k][0] !== wanted[k]) { continue outer; }
      }
      return [flat[s][1], flat[s + wanted.length - 1][1]];
    }
    return null;
  }

  function fragmentFor(words, first, last) {
    var span = words.slice(first, last + 1);
    var rules = shared.config.anchor;  // as Anchor.to_text_fragment cuts a long quote
    if (span.length <= rules.fragment_max_words) { return encodeFragment(trimmed(span.join(" "))); }
    return encodeFragment(trimmed(span.slice(0, rules.fragment_edge_words).join(" "))) + "," +
      encodeFragment(trimmed(span.slice(-rules.fragment_edge_words).join(" ")));
  }

  function runQuote() {
    var text = (params.get("text") || "").trim();
    var area = document.getElementById("quote_text");
    if (area && text) { area.value = text; }
    if (!text) { return; }
    var wanted = tokens(text);
    if (!wanted.length) { return; }
    status("Looking for the quote…");
    // Every word must match; a changed word finds nothing, so the rarest-looking (longest)
    // words are tried alone next.
    var longest = wanted.slice().sort(function (x, y) { return y.length - x.length; }).slice(0, 6);
    pagefind().then(function (pf) {
      return pf.search(wanted.join(" ")).then(function (search) {
        return search.results.length ? search : pf.search(longest.join(" "));
      });
    }).then(function (search) {
      return Promise.all(search.results.slice(0, 5).map(function (r) { return r.data(); }));
    }).then(function (datas) { renderQuote(wanted, datas); }).catch(fail);
  }

  function renderQuote(wanted, datas) {
    var matches = [];
    var near = [];
    datas.forEach(function (data) {
      var words = data.content.split(/\s+/);
      var span = findVerbatim(words, wanted);
      if (span) {
        var anchors = passageAnchors(data);
        var i = anchorIndexAt(anchors, span[0]);
        matches.push({ data: data, words: words, span: span, id: i >= 0 ? anchors[i].id : "" });
      } else {
        near.push(data);
      }
    });
    var title = matches.length ? "Where it comes from" : "No source found word for word";
    var children = [el("h2", { id: "matches_title" }, [title])];
    matches.slice(0, 3).forEach(function (m, n) {
      var meta = m.data.meta || {};
      var quote = m.words.slice(m.span[0], m.span[1] + 1).join(" ");
      children.push(el("article", { "class": "match", "aria-labelledby": "m_" + (n + 1) }, [
        el("h3", { id: "m_" + (n + 1) }, [el("a", { href: m.data.url, lang: meta.language || null }, [meta.title || m.data.url])]),
        metaLine(m.data),
        el("p", { "class": "match__verdict match__verdict--exact" }, ["Word for word: the quote matches the testimony (ignoring case and punctuation)."]),
        el("blockquote", { "class": "orphan-quote", lang: meta.language || null }, [quote]),
        el("p", {}, [el("a", { href: passageUrl(m.data, m.id, fragmentFor(m.words, m.span[0], m.span[1])) }, ["Open the passage with these words highlighted →"])]),
        el("p", { "class": "hint" }, ["Select the words there to copy a link to them or to cite them."])
      ]));
    });
    if (!matches.length) {
      children.push(el("p", { "class": "empty", role: "status" }, [near.length ?
        "No public passage holds these words in this order. These testimonies hold most of them:" :
        "No public passage contains these words. Check the spelling, or try a shorter part of the quote."]));
      near.slice(0, 3).forEach(function (data, i) {
        children.push(hitGroup(data, i + 1, passageHits(data, 1)));
      });
    }
    root.textContent = "";
    root.appendChild(el("section", { "aria-labelledby": "matches_title" }, children));
  }

  try {
    if (mode === "quote") { runQuote(); } else { runSearch(); }
  } catch (error) { fail(error); }
}());

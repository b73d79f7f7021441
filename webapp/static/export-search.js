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

  // The passages of a page that hold the query's words: ``found`` is [item, locations] per word
  // searched. Passages holding more of the significant words come first, then more matches;
  // each says which significant words it lacks. Returns {hits: the first ``limit``, more}.
  function passageHits(data, found, limit) {
    var words = data.content.split(/\s+/);
    var anchors = passageAnchors(data);
    var groups = {};
    var order = [];
    found.forEach(function (pair) {
      pair[1].forEach(function (location) {
        var i = anchorIndexAt(anchors, location);
        if (i < 0) { return; }
        if (!groups[i]) { groups[i] = { marks: [], items: [] }; order.push(i); }
        if (groups[i].marks.indexOf(location) < 0) { groups[i].marks.push(location); }
        if (groups[i].items.indexOf(pair[0]) < 0) { groups[i].items.push(pair[0]); }
      });
    });
    function held(i) { return groups[i].items.filter(function (item) { return !item.stop; }).length; }
    order.sort(function (x, y) { return held(y) - held(x) || groups[y].marks.length - groups[x].marks.length || x - y; });
    var wanted = [];
    found.forEach(function (pair) { if (!pair[0].stop && wanted.indexOf(pair[0]) < 0) { wanted.push(pair[0]); } });
    var hits = order.slice(0, limit).sort(function (x, y) { return x - y; }).map(function (i) {
      var start = anchors[i].location;
      var end = i + 1 < anchors.length ? anchors[i + 1].location : words.length;
      var marks = groups[i].marks.sort(function (x, y) { return x - y; });
      var from = Math.max(start, marks[0] - Math.floor(SNIPPET_WORDS / 3));
      var to = Math.min(end, from + SNIPPET_WORDS);
      var missing = wanted.filter(function (item) { return groups[i].items.indexOf(item) < 0; })
        .map(function (item) { return item.shown; });
      return { id: anchors[i].id, words: words, from: from, to: to, start: start, end: end, marks: marks, missing: missing };
    });
    return { hits: hits, more: Math.max(0, order.length - limit) };
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
    var mode = params.get("mode");
    return {
      q: (params.get("q") || "").trim(), words: parsed.words, filters: filters,
      page: page > 0 ? page : 1, unsupported: parsed.unsupported,
      mode: (rules.modes || []).indexOf(mode) > 0 ? mode : "best"
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

  // The table's keys are every public word (archive/wordforms.py): a word with no key like it
  // is in no public text. It is reported, never given to Pagefind, which would split it into
  // shorter words it knows ("qzx..." into the "Q" of "**Q:**", "заявление" into "за").
  var PLAIN_WORD = /^[\p{L}\p{N}]+$/u;
  var own = Object.prototype.hasOwnProperty;

  // Restricted Damerau (optimal string alignment) distance, as the server's "did you mean".
  function distance(a, b) {
    var rows = [];
    for (var i = 0; i <= a.length; i++) {
      rows.push([i]);
      for (var j = 1; j <= b.length; j++) {
        if (i === 0) { rows[0].push(j); continue; }
        var cost = a[i - 1] === b[j - 1] ? 0 : 1;
        var d = Math.min(rows[i - 1][j] + 1, rows[i][j - 1] + 1, rows[i - 1][j - 1] + cost);
        if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) { d = Math.min(d, rows[i - 2][j - 2] + 1); }
        rows[i].push(d);
      }
    }
    return rows[a.length][b.length];
  }

  // A public word within one edit (two for a long word) of an unknown one, from the part of
  // the table its first two letters name: the server's rule over public words only.
  function suggest(form, table) {
    var rule = rules.suggest || {};
    if (!PLAIN_WORD.test(form) || /\p{N}/u.test(form) || form.length < rule.min_chars || form.length > rule.max_chars) { return null; }
    var most = form.length < rule.long_word ? 1 : 2;
    var best = null;
    Object.keys(table).forEach(function (key) {
      if (key === form || Math.abs(key.length - form.length) > most || key.length < rule.min_chars) { return; }
      var d = distance(form, key);
      if (d <= most && (best === null || d < best[0] || (d === best[0] && key < best[1]))) { best = [d, key]; }
    });
    return best ? best[1] : null;
  }

  // What to give Pagefind for a query word: {term} (the beginning its forms share, or the word
  // as typed), or {term: null, suggestion} when no public text holds it. A table file that
  // fails to load leaves the word as typed.
  function wordStart(word) {
    var form = pagefindForm(trimmed(word));
    if (!PLAIN_WORD.test(form)) { return Promise.resolve({ term: word }); }
    var cyrillic = CYRILLIC_WORD.test(form);
    return startTable(form).then(function (table) {
      // Asked for when Pagefind finds nothing for the word too ("bordr" begins as "border").
      function spell() { return suggest(form, table); }
      var found = resolve(table);
      found.spell = spell;
      return found;
    }, function () { return { term: word }; });

    function resolve(table) {
      if (own.call(table, form)) { return { term: table[form] || word }; }
      var keys = null;
      for (var cut = 1; cut <= MAX_ENDING && form.length - cut >= MIN_START; cut++) {
        var shorter = form.slice(0, form.length - cut);
        if (cyrillic) {
          if (own.call(table, shorter) && table[shorter]) { return { term: table[shorter] }; }
          continue;
        }
        // Pagefind stems English itself ("escapes" finds "escaped"): a public word that
        // begins as the word does without its ending is enough.
        keys = keys || Object.keys(table);
        for (var k = 0; k < keys.length; k++) {
          if (keys[k].lastIndexOf(shorter, 0) === 0) { return { term: word }; }
        }
      }
      return { term: null };
    }
  }

  var rules = JSON.parse(root.getAttribute("data-search-rules") || "{}");
  var STOP = {};
  (rules.stopwords || []).forEach(function (w) { STOP[w] = true; });

  // The query's words as best match reads them (archive/search/compile.py): phrases, prefix*
  // and +words are required; other words are optional, stop words do not count, and a
  // testimony must hold min_should_match of the significant ones. mode=all requires each.
  function queryItems(query) {
    var all = query.mode === "all";
    return query.words.map(function (word) {
      var plus = /^\+./.test(word);
      var bare = plus ? word.slice(1) : word;
      var exact = /^"|\*$/.test(bare);
      return {
        shown: bare, typed: word, exact: exact, required: all || plus || exact,
        stop: !exact && own.call(STOP, pagefindForm(trimmed(bare)))
      };
    });
  }

  function searchHref(q, filters, page, mode) {
    var out = new URLSearchParams();
    if (q) { out.append("q", q); }
    if (mode && mode !== "best") { out.append("mode", mode); }
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
          href: searchHref(query.q, toggled, 1, query.mode),
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
    var mode = form.querySelector("select[name=mode]");
    if (mode) { mode.value = query.mode; }
    FACETS.forEach(function (f) {
      (params.getAll(f[0]) || []).forEach(function (v) {
        form.appendChild(el("input", { type: "hidden", name: f[0], value: v }));
      });
    });
  }

  function pagination(query, pages) {
    if (pages <= 1) { return null; }
    return el("nav", { "class": "pagination", "aria-label": "Result pages" }, [
      query.page > 1 ? el("a", { rel: "prev", href: searchHref(query.q, query.filters, query.page - 1, query.mode) }, ["← Previous"]) : null,
      el("span", {}, ["Page " + query.page + " of " + pages]),
      query.page < pages ? el("a", { rel: "next", href: searchHref(query.q, query.filters, query.page + 1, query.mode) }, ["Next →"]) : null
    ]);
  }

  // A timed passage's time, as the testimony page labels it (its "times" metadata).
  function passageTimes(data) {
    var parts = ((data.meta || {}).times || "").split(" ");
    var times = {};
    for (var i = 0; i + 1 < parts.length; i += 2) { times[parts[i]] = parts[i + 1]; }
    return times;
  }

  function hitGroup(data, index, found) {
    var meta = data.meta || {};
    var lang = meta.language || null;
    var times = passageTimes(data);
    var listed = found ? found : { hits: [], more: 0 };
    return el("section", { "class": "hit-group", "aria-labelledby": "g_" + index }, [
      el("h2", { "class": "hit-group__title", id: "g_" + index }, [el("a", { href: data.url, lang: lang }, [meta.title || data.url])]),
      metaLine(data),
      listed.hits.length ? el("ol", { "class": "hits" }, listed.hits.map(function (hit) {
        return el("li", { "class": "hit" }, [
          el("a", { "class": "hit__link", href: passageUrl(data, hit.id, hitFragment(hit)), lang: lang }, snippet(hit)),
          times[hit.id] ? " " : null,
          times[hit.id] ? el("span", { "class": "hit__time" }, ["at " + times[hit.id]]) : null,
          hit.missing && hit.missing.length ? el("p", { "class": "hit__missing" }, ["Missing: "].concat(
            [].concat.apply([], hit.missing.map(function (w, n) { return [n ? ", " : null, el("s", {}, [w])]; })))) : null
        ]);
      })) : null,
      listed.more ? el("p", { "class": "hit-group__more" }, [
        el("a", { href: data.url, lang: lang }, [listed.more + " more in this testimony"])]) : null
    ]);
  }

  function unsupportedNotice(query) {
    return "This published copy of the archive searches words, “phrases”, theme: and lang: only, " +
      "so it left out: " + query.unsupported.join(", ") + ". The archive's own search reads them " +
      "(see the search help).";
  }

  // Each word is searched alone (Pagefind requires every word of one search), so the page
  // knows which words each testimony holds: best match, "Missing: ...", and the words no
  // public text holds. Returns [{item, results}] for the words searched, and the unknown ones.
  function searchItems(pf, items, filters) {
    var significant = items.filter(function (item) { return !item.stop; }).length > 0;
    return Promise.all(items.map(function (item) {
      if (item.stop && significant && !item.required) { return null; }  // not searched, as on the server
      var resolved = item.exact ? Promise.resolve({ term: item.shown }) : wordStart(item.shown);
      return resolved.then(function (found) {
        var searching = found.term === null ? Promise.resolve({ results: [] }) : pf.search(found.term, { filters: filters });
        return searching.then(function (search) {
          item.suggestion = !search.results.length && found.spell ? found.spell() : null;
          return { item: item, results: search.results };
        });
      });
    })).then(function (all) { return all.filter(Boolean); });
  }

  // Testimonies holding every required word and min_should_match of the significant ones,
  // most words first, then Pagefind's scores; each with its words' locations.
  function combine(searched) {
    var known = searched.filter(function (s) { return s.results.length; });
    var required = known.filter(function (s) { return s.item.required; });
    var optional = known.filter(function (s) { return !s.item.required; });
    var counted = optional.filter(function (s) { return !s.item.stop; });
    if (!counted.length) { required = required.concat(optional); optional = []; }
    var table = rules.min_should_match || [];
    var minimum = counted.length ? table[Math.min(counted.length, table.length - 1)] : 0;
    var pages = {};
    var order = [];
    known.forEach(function (s, n) {
      s.results.forEach(function (r) {
        if (!pages[r.id]) { pages[r.id] = { result: r, found: [], score: 0, required: 0, held: 0 }; order.push(r.id); }
        var page = pages[r.id];
        page.found.push([s.item, r.words]);
        page.score += r.score;
        if (required.indexOf(s) >= 0) { page.required++; } else if (!s.item.stop) { page.held++; }
      });
    });
    return order.map(function (id) { return pages[id]; }).filter(function (page) {
      return page.required === required.length && page.held >= minimum;
    }).sort(function (x, y) { return y.held - x.held || y.score - x.score; });
  }

  function facetCounts(datas) {
    var counts = {};
    datas.forEach(function (data) {
      Object.keys(data.filters || {}).forEach(function (facet) {
        counts[facet] = counts[facet] || {};
        data.filters[facet].forEach(function (value) { counts[facet][value] = (counts[facet][value] || 0) + 1; });
      });
    });
    return counts;
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
    var items = queryItems(query);
    pagefind().then(function (pf) {
      return pf.filters().then(function () {
        if (!items.length) {
          return pf.search(null, { filters: filters }).then(function (search) {
            return { pages: search.results.map(function (r) { return { result: r, found: [] }; }), searched: [], filters: search.filters };
          });
        }
        return searchItems(pf, items, filters).then(function (searched) {
          var unknownRequired = searched.some(function (s) { return s.item.required && !s.results.length; });
          return { pages: unknownRequired ? [] : combine(searched), searched: searched };
        });
      });
    }).then(function (answer) {
      var pages = answer.pages;
      var count = Math.max(1, Math.ceil(pages.length / PER_PAGE));
      var page = Math.min(query.page, count);
      var shown = pages.slice((page - 1) * PER_PAGE, page * PER_PAGE);
      // Facet counts agree with the list: counted from the testimonies found (their index
      // fragments; Pagefind keeps each it loaded), the first MAX_COUNTED of them.
      var counting = answer.filters ? [] : pages.slice(0, MAX_COUNTED);
      return Promise.all([
        Promise.all(shown.map(function (p) { return p.result.data(); })),
        Promise.all(counting.map(function (p) { return p.result.data(); }))
      ]).then(function (loaded) {
        render(query, pages, shown, loaded[0], answer.searched, answer.filters || facetCounts(loaded[1]), count);
      });
    }).catch(fail);
  }

  var MAX_COUNTED = 50;

  function render(query, pages, shown, datas, searched, counts, pageCount) {
    var total = pages.length;
    var quoted = query.q ? " for “" + query.q + "”" : "";
    var count = el("p", { "class": "result-count", role: "status" }, [
      total ? total.toLocaleString("en") + " testimon" + (total === 1 ? "y" : "ies") + " found" + quoted + "." : "Nothing found" + quoted + ".",
      Object.keys(query.filters).length ? " " : null,
      Object.keys(query.filters).length ? el("a", { href: searchHref(query.q, {}, 1, query.mode) }, ["Clear filters"]) : null
    ]);
    var children = [count];
    var unknown = searched.filter(function (s) { return !s.results.length; }).map(function (s) { return s.item; });
    if (unknown.length) {
      children.push(el("p", { "class": "notice", id: "search_unknown" }, ["No public testimony has "].concat(
        [].concat.apply([], unknown.map(function (item, n) { return [n ? ", " : null, el("strong", {}, [item.shown])]; })), ["."])));
    }
    var suggested = unknown.filter(function (item) { return item.suggestion; });
    if (suggested.length) {
      var better = query.q;
      suggested.forEach(function (item) { better = better.split(item.shown).join(item.suggestion); });
      children.push(el("p", { "class": "suggestion" }, ["Did you mean ", el("a", { href: searchHref(better, query.filters, 1, query.mode) }, [better]), "?"]));
    }
    if (query.unsupported.length) {
      children.push(el("p", { "class": "notice", id: "search_unsupported" }, [unsupportedNotice(query)]));
    }
    if (!total) {
      children.push(el("div", { "class": "empty" }, [el("p", {}, ["Try fewer words, another form of the word, or the same search in another language."])]));
    }
    shown.forEach(function (p, i) {
      children.push(hitGroup(datas[i], (query.page - 1) * PER_PAGE + i + 1, p.found.length ? passageHits(datas[i], p.found, HITS_PER_TESTIMONY) : null));
    });
    children.push(pagination(query, pageCount));
    root.textContent = "";
    root.appendChild(el("div", { "class": "search-layout" }, [
      el("div", { "class": "search-results" }, children),
      facetsAside(query, counts || {})
    ]));
  }

  // --- quote check ---------------------------------------------------------------------------

  var NON_WORD = /[^\p{L}\p{N}]+/gu;

  // Words compared as archive.anchors compares quotes (shared.fold), punctuation aside.
  function tokens(text) {
    return shared.fold(text).replace(NON_WORD, " ").trim().split(" ").filter(Boolean);
  }

  function fragmentFor(words, first, last) {
    var span = words.slice(first, last + 1);
    var rules = shared.config.anchor;  // as Anchor.to_text_fragment cuts a long quote
    if (span.length <= rules.fragment_max_words) { return encodeFragment(trimmed(span.join(" "))); }
    return encodeFragment(trimmed(span.slice(0, rules.fragment_edge_words).join(" "))) + "," +
      encodeFragment(trimmed(span.slice(-rules.fragment_edge_words).join(" ")));
  }

  // Character similarity of two folded texts (0..1), as the server scores a quote's source.
  function similarity(a, b) {
    if (!a.length && !b.length) { return 1; }
    var prev = [];
    for (var j = 0; j <= b.length; j++) { prev.push(j); }
    for (var i = 1; i <= a.length; i++) {
      var row = [i];
      for (j = 1; j <= b.length; j++) {
        row.push(Math.min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1)));
      }
      prev = row;
    }
    return 1 - prev[b.length] / Math.max(a.length, b.length);
  }

  // The span of ``flat`` (the passage's words) the quote's words align with best: word-level
  // edit distance with a free start and end in the passage, then the steps that make it
  // (equal, replace, insert: a passage word the quote lacks, delete: a quote word only).
  function align(flat, wanted) {
    var n = wanted.length, m = flat.length;
    var cost = [], from = [];
    for (var i = 0; i <= n; i++) { cost.push(new Array(m + 1)); from.push(new Array(m + 1)); }
    for (var j = 0; j <= m; j++) { cost[0][j] = 0; from[0][j] = "start"; }
    for (i = 1; i <= n; i++) {
      cost[i][0] = i; from[i][0] = "delete";
      for (j = 1; j <= m; j++) {
        var same = wanted[i - 1] === flat[j - 1][0];
        var best = cost[i - 1][j - 1] + (same ? 0 : 1), step = same ? "equal" : "replace";
        if (cost[i - 1][j] + 1 < best) { best = cost[i - 1][j] + 1; step = "delete"; }
        if (cost[i][j - 1] + 1 < best) { best = cost[i][j - 1] + 1; step = "insert"; }
        cost[i][j] = best; from[i][j] = step;
      }
    }
    var end = 0;
    for (j = 1; j <= m; j++) { if (cost[n][j] < cost[n][end]) { end = j; } }
    var steps = [];
    i = n; j = end;
    while (i > 0) {
      var op = from[i][j];
      steps.unshift({ op: op, source: op === "delete" ? null : j - 1, quoted: op === "insert" ? null : i - 1 });
      if (op !== "insert") { i--; }
      if (op !== "delete") { j--; }
    }
    var sources = steps.filter(function (st) { return st.source !== null; });
    if (!sources.length) { return null; }
    return { first: sources[0].source, last: sources[sources.length - 1].source, steps: steps };
  }

  function runQuote() {
    var text = (params.get("text") || "").trim();
    var area = document.getElementById("quote_text");
    if (area && text) { area.value = text; }
    if (!text) { return; }
    var wanted = tokens(text);
    if (!wanted.length) { return; }
    status("Looking for the quote…");
    // Candidates: the testimonies holding most of the quote's significant words, each word
    // searched alone (a changed word must not hide the source), at most six of the longest.
    var significant = wanted.filter(function (w) { return !own.call(STOP, pagefindForm(w)); });
    var picked = (significant.length ? significant : wanted).slice()
      .sort(function (x, y) { return y.length - x.length; }).slice(0, 6)
      .filter(function (w, i, all) { return all.indexOf(w) === i; });
    var items = picked.map(function (w) { return { shown: w, typed: w, exact: false, required: false, stop: false }; });
    pagefind().then(function (pf) {
      return searchItems(pf, items, {});
    }).then(function (searched) {
      var pages = {};
      var order = [];
      searched.forEach(function (s) {
        s.results.forEach(function (r) {
          if (!pages[r.id]) { pages[r.id] = { result: r, held: 0, score: 0 }; order.push(r.id); }
          pages[r.id].held++;
          pages[r.id].score += r.score;
        });
      });
      var ranked = order.map(function (id) { return pages[id]; })
        .sort(function (x, y) { return y.held - x.held || y.score - x.score; }).slice(0, 8);
      return Promise.all(ranked.map(function (p) { return p.result.data(); }));
    }).then(function (datas) { renderQuote(wanted, datas); }).catch(fail);
  }

  // The best source of the quote in a page: aligned passage by passage (with the next one, so a
  // quote may run over a paragraph break), scored by character similarity; null below the
  // server's MIN_SCORE, or when no word it shares with the quote is significant (a wrong
  // passage that shares only "the" and "a" is never shown).
  function bestSource(data, wanted) {
    var words = data.content.split(/\s+/);
    var anchors = passageAnchors(data);
    var folded = wanted.join(" ");
    var best = null;
    for (var a = 0; a < anchors.length; a++) {
      var start = anchors[a].location;
      var end = a + 2 < anchors.length ? anchors[a + 2].location : words.length;
      var flat = [];
      for (var w = start; w < end; w++) { tokens(words[w]).forEach(function (t) { flat.push([t, w]); }); }
      if (!flat.length) { continue; }
      var found = align(flat, wanted);
      if (!found) { continue; }
      var source = flat.slice(found.first, found.last + 1).map(function (f) { return f[0]; }).join(" ");
      var score = similarity(folded, source);
      var meaningful = found.steps.some(function (st) { return st.op === "equal" && !own.call(STOP, pagefindForm(wanted[st.quoted])); });
      if (meaningful && score >= (rules.quote || {}).min_score && (best === null || score > best.score)) {
        best = { data: data, words: words, flat: flat, found: found, score: score, span: [flat[found.first][1], flat[found.last][1]] };
        var i = anchorIndexAt(anchors, best.span[0]);
        best.id = i >= 0 ? anchors[i].id : "";
      }
    }
    return best;
  }

  // The testimony's words, with <ins> where the quote differs and <del> for words only the quote has.
  function diffParts(match, wanted) {
    var parts = [];
    match.found.steps.forEach(function (st, n) {
      if (n) { parts.push(" "); }
      if (st.op === "equal") {
        parts.push(match.flat[st.source][0]);
      } else if (st.op === "insert") {
        parts.push(el("ins", {}, [match.flat[st.source][0]]));
      } else if (st.op === "delete") {
        parts.push(el("del", {}, [wanted[st.quoted]]));
      } else {
        parts.push(el("del", {}, [wanted[st.quoted]]), " ", el("ins", {}, [match.flat[st.source][0]]));
      }
    });
    return parts;
  }

  function renderQuote(wanted, datas) {
    var matches = datas.map(function (data) { return bestSource(data, wanted); }).filter(Boolean)
      .sort(function (x, y) { return y.score - x.score; });
    var title = matches.length ? "Where it comes from" : "No source found";
    var children = [el("h2", { id: "matches_title" }, [title])];
    matches.slice(0, 3).forEach(function (m, n) {
      var meta = m.data.meta || {};
      var lang = meta.language || null;
      var exact = m.found.steps.every(function (st) { return st.op === "equal"; });
      var quote = m.words.slice(m.span[0], m.span[1] + 1).join(" ");
      children.push(el("article", { "class": "match", "aria-labelledby": "m_" + (n + 1) }, [
        el("h3", { id: "m_" + (n + 1) }, [el("a", { href: m.data.url, lang: lang }, [meta.title || m.data.url])]),
        metaLine(m.data),
        exact ? el("p", { "class": "match__verdict match__verdict--exact" }, ["Word for word: the quote matches the testimony (ignoring case and punctuation)."]) :
          el("p", { "class": "match__verdict match__verdict--changed" }, ["Close, but not exact: some words differ from the testimony (similarity " + Math.round(m.score * 100) + "%)."]),
        el("blockquote", { "class": "orphan-quote", lang: lang }, [quote]),
        exact ? null : el("p", { "class": "diff-legend" }, ["The testimony's words, with ", el("ins", {}, ["words the testimony has"]), " where the quote differs, and ", el("del", {}, ["words only the quote has"]), "."]),
        exact ? null : el("p", { "class": "diff", lang: lang }, diffParts(m, wanted)),
        el("p", {}, [el("a", { href: passageUrl(m.data, m.id, fragmentFor(m.words, m.span[0], m.span[1])) }, ["Open the passage with these words highlighted →"])]),
        el("p", { "class": "hint" }, ["Select the words there to copy a link to them or to cite them."])
      ]));
    });
    if (!matches.length) {
      children.push(el("p", { "class": "empty", role: "status" }, [
        "No public passage holds these words, even with a few of them changed. Check the spelling, or try a shorter part of the quote."]));
    }
    root.textContent = "";
    root.appendChild(el("section", { "aria-labelledby": "matches_title" }, children));
  }

  try {
    if (mode === "quote") { runQuote(); } else { runSearch(); }
  } catch (error) { fail(error); }
}());

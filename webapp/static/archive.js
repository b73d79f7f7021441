/* Testimony Archive page script: quote highlighting, the selection toolbar and copy buttons.
 *
 * Offsets: every passage element in #testimony_text carries data-offset, its start in the
 * testimony's public text, and its text content is exactly that passage's public text.
 * A selection becomes [start, end) in the public text by measuring Range.toString() from a
 * passage's start; the server turns that into an anchor (anchor.json), so the anchor format
 * has one implementation. Opening a link, the server resolves the anchor against the current
 * text and hands back offsets in data-hl-start/data-hl-end; this script marks those words.
 */
(function () {
  "use strict";

  function byId(id) { return document.getElementById(id); }

  function say(text) {
    var status = byId("quote_status");
    if (status) { status.textContent = ""; window.setTimeout(function () { status.textContent = text; }, 30); }
  }

  function copyText(text, done) {
    function fallback() {
      var area = document.createElement("textarea");
      area.value = text;
      area.setAttribute("readonly", "");
      area.className = "visually-hidden";
      document.body.appendChild(area);
      area.select();
      var ok = false;
      try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
      document.body.removeChild(area);
      done(ok);
    }
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(function () { done(true); }, fallback);
    } else {
      fallback();
    }
  }

  function flash(button, text) {
    var original = button.getAttribute("data-label") || button.textContent;
    button.setAttribute("data-label", original);
    button.textContent = text;
    window.setTimeout(function () { button.textContent = original; }, 1600);
  }

  // Copy buttons: <button data-copy="ID"> copies the value or text of element ID.
  document.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest("[data-copy]") : null;
    if (!button) { return; }
    var target = byId(button.getAttribute("data-copy"));
    if (!target) { return; }
    var text = "value" in target && target.tagName !== "PRE" ? target.value : target.textContent;
    copyText(text, function (ok) {
      flash(button, ok ? "Copied" : "Press Ctrl+C");
      if (!ok && target.select) { target.select(); }
      say(ok ? "Copied to the clipboard." : "Select the text and copy it.");
    });
  });

  // Download buttons (static site, where no server makes citation files): <button
  // data-download="ID" data-filename="NAME" data-type="TYPE"> saves the text of element ID,
  // with CRLF line ends if data-crlf is set (HTML turns them into LF; RIS wants them).
  // They stay hidden where the browser cannot save a file made in the page.
  var canSave = window.Blob && window.URL && URL.createObjectURL &&
    "download" in document.createElement("a");
  Array.prototype.forEach.call(document.querySelectorAll("[data-download]"), function (button) {
    if (canSave) { button.hidden = false; }
  });
  document.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest("[data-download]") : null;
    if (!button || !canSave) { return; }
    var target = byId(button.getAttribute("data-download"));
    if (!target) { return; }
    var text = target.textContent;
    if (button.hasAttribute("data-crlf")) { text = text.replace(/\r?\n/g, "\r\n"); }
    var blob = new Blob([text], { type: button.getAttribute("data-type") || "text/plain" });
    var link = document.createElement("a");
    link.href = URL.createObjectURL(blob);
    link.download = button.getAttribute("data-filename") || "citation.txt";
    link.hidden = true;
    document.body.appendChild(link);
    link.click();
    document.body.removeChild(link);
    window.setTimeout(function () { URL.revokeObjectURL(link.href); }, 1000);
  });

  var container = byId("testimony_text");
  if (!container) { return; }

  function passages() {
    return Array.prototype.slice.call(container.querySelectorAll("[data-offset]"));
  }

  function passageStart(p) { return parseInt(p.getAttribute("data-offset"), 10); }

  // Offsets count code points, as the server does; the DOM counts UTF-16 units
  // (archive-common.js converts, for every page script alike).
  var codePoints = window.archivePage.codePoints;
  var unitsFor = window.archivePage.unitsFor;

  // --- highlight the resolved quote -------------------------------------------------

  function markRange(start, end) {
    var marks = [];
    passages().forEach(function (p) {
      var pStart = passageStart(p);
      var pEnd = pStart + codePoints(p.textContent);
      if (pEnd <= start || pStart >= end) { return; }
      var walker = document.createTreeWalker(p, NodeFilter.SHOW_TEXT);
      var pos = pStart;
      var todo = [];
      var node = walker.nextNode();
      while (node) {
        var len = codePoints(node.data);
        var a = Math.max(start, pos);
        var b = Math.min(end, pos + len);
        if (a < b) {
          var from = unitsFor(node.data, a - pos);
          var to = unitsFor(node.data, b - pos);
          if (node.data.slice(from, to).trim() !== "") { todo.push([node, from, to]); }
        }
        pos += len;
        node = walker.nextNode();
      }
      todo.forEach(function (item) {
        var range = document.createRange();
        range.setStart(item[0], item[1]);
        range.setEnd(item[0], item[2]);
        var mark = document.createElement("mark");
        mark.className = "quote-mark";
        range.surroundContents(mark);
        marks.push(mark);
      });
      var turn = p.closest(".turn");
      if (turn) { turn.classList.add("has-quote"); }
    });
    return marks;
  }

  var hlStart = container.getAttribute("data-hl-start");
  var hlEnd = container.getAttribute("data-hl-end");
  if (hlStart !== null && hlEnd !== null) {
    var marks = markRange(parseInt(hlStart, 10), parseInt(hlEnd, 10));
    if (marks.length) {
      marks[0].id = "quote_start";
      marks[0].scrollIntoView({ block: "center" });
      // A late native scroll to #passage must not leave the quote off screen.
      window.addEventListener("load", function () { marks[0].scrollIntoView({ block: "center" }); });
    }
  }

  // --- selection -> offsets -----------------------------------------------------------

  function offsetWithin(p, node, offset) {
    var range = document.createRange();
    range.setStart(p, 0);
    range.setEnd(node, offset);
    return passageStart(p) + codePoints(range.toString());
  }

  function selectionOffsets(range) {
    var start = null;
    var end = null;
    passages().forEach(function (p) {
      if (!range.intersectsNode(p)) { return; }
      var pStart = passageStart(p);
      var pEnd = pStart + codePoints(p.textContent);
      var a = p.contains(range.startContainer) ? offsetWithin(p, range.startContainer, range.startOffset) : pStart;
      var b = p.contains(range.endContainer) ? offsetWithin(p, range.endContainer, range.endOffset) : pEnd;
      if (b <= a) { return; }
      if (start === null || a < start) { start = a; }
      if (end === null || b > end) { end = b; }
    });
    return start === null ? null : { start: start, end: end };
  }

  // A drag that starts or ends inside a word takes the whole word (Intl.Segmenter's words,
  // for every script): a link never quotes half a word. The panel shows what is quoted.
  var segmenter = null;
  if (window.Intl && Intl.Segmenter) {
    try { segmenter = new Intl.Segmenter(container.getAttribute("lang") || undefined, { granularity: "word" }); } catch (e) {
      segmenter = new Intl.Segmenter(undefined, { granularity: "word" });  // a language tag it cannot read
    }
  }

  function snapEdge(offset, isEnd) {
    var list = passages();
    for (var n = 0; n < list.length; n++) {
      var text = list[n].textContent;
      var pStart = passageStart(list[n]);
      var pEnd = pStart + codePoints(text);
      if (isEnd ? offset <= pStart || offset > pEnd : offset < pStart || offset >= pEnd) { continue; }
      var i = unitsFor(text, offset - pStart);
      var seg = segmenter.segment(text).containing(isEnd ? i - 1 : i);
      if (!seg || !seg.isWordLike) { return offset; }
      var edge = isEnd ? seg.index + seg.segment.length : seg.index;
      return pStart + codePoints(text.slice(0, edge));
    }
    return offset;
  }

  function snapToWords(found) {
    if (!segmenter) { return found; }
    return { start: snapEdge(found.start, false), end: snapEdge(found.end, true) };
  }

  var toolbar = byId("quote_toolbar");
  var panel = byId("quote_panel");
  var current = null;
  var timer = null;

  function hideToolbar() {
    if (toolbar) { toolbar.hidden = true; }
  }

  function placeToolbar(range) {
    var rects = range.getClientRects();
    var rect = rects.length ? rects[0] : range.getBoundingClientRect();
    var turn = (range.endContainer.nodeType === 1 ? range.endContainer : range.endContainer.parentNode);
    turn = turn && turn.closest ? turn.closest(".turn") : null;
    if (turn && container.contains(turn)) {
      var list = turn.parentNode && /^(UL|OL)$/.test(turn.parentNode.tagName) ? turn.parentNode : turn;
      list.parentNode.insertBefore(toolbar, list.nextSibling);
    }
    toolbar.hidden = false;
    var width = toolbar.offsetWidth;
    var top = rect.top + window.scrollY - toolbar.offsetHeight - 10;
    if (rect.top < toolbar.offsetHeight + 12) { top = rect.bottom + window.scrollY + 10; }
    var left = rect.left + window.scrollX;
    var maxLeft = window.scrollX + document.documentElement.clientWidth - width - 8;
    left = Math.max(window.scrollX + 8, Math.min(left, maxLeft));
    toolbar.style.top = Math.round(top) + "px";
    toolbar.style.left = Math.round(left) + "px";
  }

  function onSelection() {
    var selection = window.getSelection();
    if (!selection || selection.rangeCount === 0 || selection.isCollapsed) {
      if (!toolbar.contains(document.activeElement)) { hideToolbar(); }
      return;
    }
    var range = selection.getRangeAt(0);
    if (!container.contains(range.commonAncestorContainer) && !range.intersectsNode(container)) {
      hideToolbar();
      return;
    }
    var found = selectionOffsets(range);
    if (!found) { hideToolbar(); return; }
    found = snapToWords(found);
    current = found;
    toolbar.setAttribute("data-start", String(found.start));
    toolbar.setAttribute("data-end", String(found.end));
    placeToolbar(range);
  }

  document.addEventListener("selectionchange", function () {
    window.clearTimeout(timer);
    timer = window.setTimeout(onSelection, 120);
  });

  // Keep the selection when a toolbar button is pressed with the mouse.
  toolbar.addEventListener("mousedown", function (event) { event.preventDefault(); });

  // Editor mode (archive serve --editor): "Copy link" records the words in the quote ledger
  // and copies their short link. The endpoint and token exist only on an editor's server.
  function recordQuote(range) {
    return fetch(container.getAttribute("data-ledger-endpoint"), {
      method: "POST",
      credentials: "same-origin",
      headers: {
        Accept: "application/json",
        "Content-Type": "application/json",
        "X-Archive-Token": container.getAttribute("data-ledger-token") || ""
      },
      body: JSON.stringify({ start: range.start, end: range.end })
    });
  }

  // Editor mode: say, visibly and to a screen reader (role=status), which ledger entry the
  // words are, so the editor knows the short link they copied is recorded.
  function recorded(body, copied) {
    var status = byId("ledger_status");
    if (!status) { return; }
    status.textContent = (body["new"] ? "Recorded in the quote ledger as " : "Already in the quote ledger as ") +
      body.id + ": " + body.url + (copied ? " (link copied)" : " (copy it from the panel)");
    status.setAttribute("data-id", body.id);
    status.hidden = false;
  }

  function fetchAnchor(range, then, record) {
    // Static export: no server answers anchor.json; export-quote.js builds the same answer.
    if (window.archiveStatic && window.archiveStatic.anchorFor) {
      var made;
      try { made = window.archiveStatic.anchorFor(range); } catch (error) {
        say(error.message); toolbar.setAttribute("data-error", error.message); return;
      }
      then(made);
      return;
    }
    var endpoint = container.getAttribute("data-anchor-endpoint");
    var url = endpoint + "?start=" + range.start + "&end=" + range.end;
    var asked = record && container.getAttribute("data-ledger-endpoint") ? recordQuote(range)
      : fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" });
    asked
      .then(function (response) {
        return response.json().then(function (body) {
          if (!response.ok) { throw new Error(body.error || "The link could not be made."); }
          return body;
        });
      })
      .then(then)
      .catch(function (error) { say(error.message); toolbar.setAttribute("data-error", error.message); });
  }

  function formatBlock(item, index) {
    var details = document.createElement("details");
    details.className = "format";
    if (index === 0) { details.open = true; }
    var summary = document.createElement("summary");
    summary.textContent = item.label;
    var pre = document.createElement("pre");
    pre.className = "format__text";
    pre.id = "quote_fmt_" + item.format.replace(/\W/g, "_");
    pre.tabIndex = 0;
    pre.textContent = item.text;
    var actions = document.createElement("p");
    actions.className = "format__actions";
    var button = document.createElement("button");
    button.type = "button";
    button.className = "copy-btn";
    button.setAttribute("data-copy", pre.id);
    button.textContent = "Copy";
    actions.appendChild(button);
    details.appendChild(summary);
    details.appendChild(pre);
    details.appendChild(actions);
    return details;
  }

  function fillPanel(body) {
    byId("quote_panel_text").textContent = body.quote;
    byId("quote_link").value = body.url;
    var formats = byId("quote_panel_formats");
    while (formats.firstChild) { formats.removeChild(formats.firstChild); }
    body.citations.forEach(function (item, index) { formats.appendChild(formatBlock(item, index)); });
  }

  function openPanel() {
    panel.hidden = false;
    var heading = byId("quote_panel_title");
    heading.tabIndex = -1;
    heading.focus();
  }

  function closePanel() {
    panel.hidden = true;
    if (!toolbar.hidden) { byId("quote_copy").focus(); }
  }

  toolbar.addEventListener("click", function (event) {
    var button = event.target.closest("button");
    if (!button || !current) { return; }
    var action = button.getAttribute("data-action");
    if (action === "close") { hideToolbar(); return; }
    fetchAnchor(current, function (body) {
      // Without site_url the server's links are site-relative (it never trusts the Host
      // header): the link to copy takes the address this browser is at.
      body.url = new URL(body.url, location.href).href;
      toolbar.setAttribute("data-link", body.url);
      fillPanel(body);
      if (action === "copy") {
        copyText(body.url, function (ok) {
          flash(button, ok ? "Link copied" : "Copy below");
          if (body.id) { recorded(body, ok); } else {
            say(ok ? "Link to the selected words copied." : "Copy the link from the panel.");
          }
          if (!ok) { openPanel(); byId("quote_link").select(); }
        });
      } else {
        openPanel();
        say("Citation for the selected words.");
      }
    }, action === "copy");
  });

  byId("quote_panel_close").addEventListener("click", closePanel);

  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") { return; }
    if (!panel.hidden) { closePanel(); return; }
    hideToolbar();
  });
}());

/* Testimony Archive recording player: the text follows the recording, the recording follows the text.
 *
 * The page (templates/testimony.html) carries one <audio> per published recording in
 * #player (data-recording = its number) and, before each time-coded passage, a
 * .passage-time button with data-recording, data-start and data-end in seconds. Here:
 * - a time button plays its recording from the passage's start (and pauses the others);
 * - while a recording plays, the passage being heard gets .turn--playing and its button
 *   aria-current, and is kept in view, unless the reader scrolls away (wheel, touch or a
 *   scrolling key): following then pauses until they click a time or "Follow again";
 * - a quote link (archive.js has marked the quote and its .turn.has-quote) cues the
 *   recording at the start of the quote's passage, without playing it; the server also
 *   names that start in #player's data-cue, for a page whose quote is not marked yet;
 * - a recording that fails to load is asked for again, a bounded number of times: the
 *   server answers 503 with Retry-After while it is still making the published copy
 *   (webapp/media.py), and the reader is told so in #player_status (aria-live), instead of
 *   a player that stays broken until a reload. A time clicked meanwhile plays once ready.
 * Runs after archive.js (both deferred, in order).
 */
(function () {
  "use strict";
  var player = document.getElementById("player");
  if (!player) { return; }
  var audios = {};
  Array.prototype.forEach.call(player.querySelectorAll("audio[data-recording]"), function (audio) {
    audios[audio.getAttribute("data-recording")] = audio;
  });
  var spans = Array.prototype.map.call(document.querySelectorAll("button.passage-time[data-start]"), function (button) {
    return {
      button: button,
      turn: button.closest(".turn"),
      recording: button.getAttribute("data-recording"),
      start: parseFloat(button.getAttribute("data-start")),
      end: parseFloat(button.getAttribute("data-end"))
    };
  }).filter(function (s) { return audios[s.recording]; });
  var follow = document.getElementById("player_follow");
  var following = true;
  var current = null;

  function setFollowing(on) {
    following = on;
    if (follow) { follow.hidden = on || current === null; }
  }

  function whenReady(audio, then) {
    if (audio.readyState >= 1) { then(); return; }
    audio.addEventListener("loadedmetadata", function once() {
      audio.removeEventListener("loadedmetadata", once);
      then();
    });
    if (audio.preload === "none") { audio.load(); }
  }

  function cue(span, play) {
    var audio = audios[span.recording];
    Object.keys(audios).forEach(function (n) { if (audios[n] !== audio) { audios[n].pause(); } });
    player.setAttribute("data-cued", String(span.start));
    whenReady(audio, function () {
      audio.currentTime = span.start;
      if (play) {
        var started = audio.play();
        if (started && started.catch) { started.catch(function () { /* the reader can press play */ }); }
      }
    });
  }

  function inView(el) {
    var r = el.getBoundingClientRect();
    return r.top >= 0 && r.bottom <= (window.innerHeight || document.documentElement.clientHeight);
  }

  function mark(span) {
    if (span === current) { return; }
    if (current) {
      current.turn.classList.remove("turn--playing");
      current.button.removeAttribute("aria-current");
    }
    current = span;
    if (!span) { return; }
    span.turn.classList.add("turn--playing");
    span.button.setAttribute("aria-current", "time");
    if (following && !inView(span.turn)) { span.turn.scrollIntoView({ block: "center" }); }
  }

  function heard(audio) {
    var n = audio.getAttribute("data-recording");
    var t = audio.currentTime;
    var found = null;
    spans.forEach(function (s) { if (s.recording === n && s.start <= t && t < s.end) { found = s; } });
    return found;
  }

  // --- a recording not ready yet ---------------------------------------------------------
  var MAX_TRIES = 8;  // about two minutes at the server's Retry-After
  var FALLBACK_DELAY = 2;  // seconds, doubled each try, when the answer names no delay
  var MAX_DELAY = 60;
  var status = document.getElementById("player_status");
  function tell(text) { if (status) { status.textContent = text; } }

  // Retry-After is seconds or an HTTP date.
  function retryAfter(value) {
    if (!value) { return null; }
    var seconds = /^\s*\d+\s*$/.test(value) ? parseInt(value, 10) : (Date.parse(value) - Date.now()) / 1000;
    return isNaN(seconds) ? null : Math.min(MAX_DELAY, Math.max(1, Math.ceil(seconds)));
  }

  function retrying(audio) {
    var tries = 0;
    var waiting = false;
    function again(delay) {
      window.setTimeout(function () { waiting = false; audio.load(); }, delay * 1000);
    }
    function failed() {
      if (waiting) { return; }
      var source = audio.querySelector("source");
      var src = (source && source.src) || audio.currentSrc;
      if (!src) { return; }
      if (tries >= MAX_TRIES) {
        tell("The recording could not be loaded. Reload the page to try again later.");
        return;
      }
      tries += 1;
      waiting = true;
      // The media element does not say why it failed: ask the server (HEAD: no body).
      fetch(src, { method: "HEAD", cache: "no-store", credentials: "same-origin" }).then(
        function (response) { return { ok: response.ok, status: response.status, after: response.headers.get("Retry-After") }; },
        function () { return { ok: false, status: 0, after: null }; }
      ).then(function (answer) {
        if (answer.ok) { again(0); return; }  // ready by now
        var delay = retryAfter(answer.after) || Math.min(MAX_DELAY, FALLBACK_DELAY * Math.pow(2, tries - 1));
        var when = " The player tries again in " + delay + (delay === 1 ? " second." : " seconds.");
        tell(answer.status === 503 ? "The recording is being prepared." + when
          : "The recording could not be loaded." + when);
        again(delay);
      });
    }
    // Captured: a failed <source> fires its error on itself, not on the <audio>.
    audio.addEventListener("error", failed, true);
    // It may have failed already, before this deferred script ran.
    if (audio.readyState === 0 && (audio.error || audio.networkState === audio.NETWORK_NO_SOURCE)) { failed(); }
    audio.addEventListener("loadedmetadata", function () {
      if (tries) { tell("The recording is ready."); }
      tries = 0;
    });
  }

  Object.keys(audios).forEach(function (n) {
    var audio = audios[n];
    retrying(audio);
    audio.addEventListener("timeupdate", function () { if (!audio.paused || current) { mark(heard(audio)); } });
    audio.addEventListener("seeked", function () { mark(heard(audio)); });
    audio.addEventListener("play", function () {
      Object.keys(audios).forEach(function (m) { if (audios[m] !== audio) { audios[m].pause(); } });
    });
  });

  spans.forEach(function (span) {
    span.button.addEventListener("click", function () {
      setFollowing(true);
      cue(span, true);
    });
  });

  if (follow) {
    document.getElementById("player_resume").addEventListener("click", function () {
      setFollowing(true);
      if (current) { current.turn.scrollIntoView({ block: "center" }); }
    });
  }

  // The reader scrolling away pauses following (a scroll event cannot tell theirs from ours).
  function away() { if (current) { setFollowing(false); } }
  window.addEventListener("wheel", away, { passive: true });
  window.addEventListener("touchmove", away, { passive: true });
  var SCROLL_KEYS = { PageUp: 1, PageDown: 1, ArrowUp: 1, ArrowDown: 1, Home: 1, End: 1, " ": 1 };
  document.addEventListener("keydown", function (event) {
    var target = event.target;
    var typing = target && (/^(INPUT|TEXTAREA|SELECT|BUTTON|AUDIO)$/.test(target.tagName) || target.isContentEditable);
    if (SCROLL_KEYS[event.key] && !typing) { away(); }
  });

  // A quote link: cue at the start of the quote's passage.
  var quoted = document.querySelector(".turn.has-quote");
  var quotedSpan = quoted && spans.filter(function (s) { return s.turn === quoted; })[0];
  if (quotedSpan) {
    cue(quotedSpan, false);
  } else if (player.hasAttribute("data-cue")) {
    var recording = player.getAttribute("data-cue-recording") || "1";
    var start = parseFloat(player.getAttribute("data-cue"));
    var match = spans.filter(function (s) { return s.recording === recording && s.start === start; })[0];
    if (match) { cue(match, false); }
  }
}());

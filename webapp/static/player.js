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
 *   names that start in #player's data-cue, for a page whose quote is not marked yet.
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

  Object.keys(audios).forEach(function (n) {
    var audio = audios[n];
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

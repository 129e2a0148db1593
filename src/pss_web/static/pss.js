/* pss: live regions, the TV rotation and a confirm before destructive posts. No dependencies.
 *
 * Live regions: a page with [data-live] elements polls its own URL every few seconds with
 * If-None-Match. The server answers 304 (one cheap query, no body) until something changed; then
 * the new page's [data-live] elements (matched by id) replace the old ones. Hidden tabs do not poll;
 * a tab that comes back into view polls at once.
 */
(function () {
  "use strict";
  var POLL_MS = 4000;

  function etagMeta() {
    var m = document.querySelector('meta[name="pss-etag"]');
    return m ? m.getAttribute("content") : null;
  }

  function startLive() {
    if (!document.querySelector("[data-live]") || !window.fetch) return;
    var etag = etagMeta();
    var delay = POLL_MS;
    var timer = null, inFlight = false;
    function schedule() {
      window.clearTimeout(timer);
      timer = window.setTimeout(poll, delay);
    }
    // A hidden tab does not poll at all; coming back into view polls at once and carries on.
    function poll() {
      timer = null;
      if (document.hidden || inFlight) return;
      inFlight = true;
      var headers = { "Accept": "text/html" };
      if (etag) headers["If-None-Match"] = etag;
      fetch(window.location.href, { headers: headers, credentials: "same-origin", cache: "no-store" })
        .then(function (r) {
          delay = POLL_MS;
          if (r.status === 304) return null;
          if (!r.ok) { delay = POLL_MS * 3; return null; }
          etag = r.headers.get("ETag") || etag;
          return r.text();
        })
        .then(function (html) {
          inFlight = false;
          if (html) swap(html);
          schedule();
        })
        .catch(function () { inFlight = false; delay = Math.min(delay * 2, 60000); schedule(); });
    }
    document.addEventListener("visibilitychange", function () {
      if (document.hidden) { window.clearTimeout(timer); timer = null; }
      else if (!inFlight) { window.clearTimeout(timer); poll(); }
    });
    schedule();
  }

  function swap(html) {
    var doc = new DOMParser().parseFromString(html, "text/html");
    document.querySelectorAll("[data-live]").forEach(function (el) {
      var fresh = el.id && doc.getElementById(el.id);
      if (fresh && fresh.innerHTML !== el.innerHTML) {
        el.innerHTML = fresh.innerHTML;
        el.dispatchEvent(new CustomEvent("pss:updated", { bubbles: true }));
      }
    });
  }

  /* The TV: show one .slide at a time, moving on every data-rotate seconds, with "n / m" in
     [data-tv-progress]; a button asks for full screen (a TV in kiosk mode never shows it). */
  function startRotation() {
    var box = document.querySelector("[data-rotate]");
    if (!box) return;
    var seconds = parseInt(box.getAttribute("data-rotate"), 10) || 12;
    var progress = document.querySelector("[data-tv-progress]");
    var index = 0;
    box.classList.add("rotating");
    function show() {
      var slides = box.querySelectorAll(".slide");
      if (!slides.length) return;
      index = index % slides.length;
      slides.forEach(function (s, i) { s.classList.toggle("shown", i === index); });
      if (progress) progress.textContent = slides.length > 1 ? (index + 1) + " / " + slides.length : "";
    }
    box.addEventListener("pss:updated", show);
    show();
    window.setInterval(function () { index += 1; show(); }, seconds * 1000);
    var full = document.querySelector("[data-fullscreen]");
    if (full) {
      if (!document.documentElement.requestFullscreen) full.hidden = true;
      full.addEventListener("click", function () { document.documentElement.requestFullscreen(); });
    }
  }

  /* Forms marked data-confirm ask first; selects in data-autosubmit forms submit on change. */
  function startForms() {
    document.addEventListener("submit", function (e) {
      var msg = e.target.getAttribute && e.target.getAttribute("data-confirm");
      if (msg && !window.confirm(msg)) e.preventDefault();
    });
    document.querySelectorAll("form[data-autosubmit] select").forEach(function (s) {
      s.addEventListener("change", function () { s.form.submit(); });
    });
  }

  /* Times are sent in UTC; show them in the event's time zone (the venue's clock, whatever the
   * phone is set to). */
  function eventZone() {
    return (document.body && document.body.getAttribute("data-time-zone")) || undefined;
  }
  function localTimes() {
    document.querySelectorAll("time[datetime]").forEach(function (t) {
      var d = new Date(t.getAttribute("datetime"));
      if (isNaN(d)) return;
      try {
        t.textContent = d.toLocaleString([], { dateStyle: "medium", timeStyle: "short", timeZone: t.getAttribute("data-time-zone") || eventZone() });
      } catch (e) { /* a zone this browser does not know: the server's text stays */ }
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    startLive(); startRotation(); startForms(); localTimes();
  });
})();

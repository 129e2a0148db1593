/* Scorekeeping: a score input that groups digits as they are typed and says the size in words,
 * and a warning (or a fresh page) when the game on the machine changes under the scorekeeper. */
(function () {
  "use strict";

  function group(digits) {
    return digits.replace(/^0+(?=\d)/, "").replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  }

  function size(digits) {
    var n = digits.length;
    var units = [[12, "trillion"], [9, "billion"], [6, "million"], [3, "thousand"]];
    for (var i = 0; i < units.length; i++) {
      if (n > units[i][0]) {
        var whole = digits.slice(0, n - units[i][0]);
        var tenth = digits.charAt(n - units[i][0]);
        return "about " + whole + (whole.length < 3 && tenth !== "0" ? "." + tenth : "") + " " + units[i][1];
      }
    }
    return "";
  }

  /* What the scorekeeper typed, as digits, or why it is not a score. Commas are this field's
   * own separators (regrouped as digits are typed); a whole score pasted grouped in threes by
   * one other separator (1.234.567) is taken too. Anything else — a letter O for a zero, a
   * minus, 12.5 meaning 12.5 million — is refused, never silently dropped. */
  function read(text) {
    var value = text.trim();
    if (/^[0-9,]*$/.test(value)) return { digits: value.replace(/,/g, "") };
    if (/^\d{1,3}([.' _])\d{3}(\1\d{3})*$/.test(value)) return { digits: value.replace(/\D/g, "") };
    var bad = value.match(/[^0-9,.' _]/);
    if (bad) {
      var ch = bad[0];
      var why = /[oO]/.test(ch) ? "\u201c" + ch + "\u201d is a letter, not a zero" :
        /[-+\u2212]/.test(ch) ? "a score has no sign" : "\u201c" + ch + "\u201d is not a digit";
      return { error: "Not a score: " + why + ". Type the digits only (0\u20139)." };
    }
    return { error: "Not a score: a score is a whole number. Type every digit " +
      "(12500000, not 12.5 million)." };
  }

  function startScore() {
    var input = document.getElementById("f-score");
    var preview = document.getElementById("score-preview");
    var problem = document.getElementById("score-problem");
    if (!input) return;
    function update() {
      var got = read(input.value);
      if (got.error) {
        input.setCustomValidity(got.error);
        input.setAttribute("aria-invalid", "true");
        if (problem) problem.textContent = got.error;
        preview.textContent = "";
        return;
      }
      input.setCustomValidity("");
      input.removeAttribute("aria-invalid");
      if (problem) problem.textContent = "";
      var digits = got.digits;
      var grouped = digits ? group(digits) : "";
      if (input.value !== grouped) {
        input.value = grouped;
        input.setSelectionRange(grouped.length, grouped.length);
      }
      preview.textContent = digits ? size(digits.replace(/^0+(?=\d)/, "")) : "";
    }
    input.addEventListener("input", update);
    update();
    if (!input.value) input.focus();
  }

  function watchGame() {
    var marker = document.getElementById("game-token");
    var box = document.getElementById("live-game");
    if (!marker || !box) return;
    var seen = marker.getAttribute("data-token");
    box.addEventListener("pss:updated", function () {
      var now = document.getElementById("game-token");
      if (!now || now.getAttribute("data-token") === seen) return;
      var input = document.getElementById("f-score");
      var typing = input && input.value;
      if (!typing) { window.location.reload(); return; }
      if (document.getElementById("game-changed")) return;
      var p = document.createElement("p");
      p.id = "game-changed";
      p.className = "changed-warning";
      p.setAttribute("role", "alert");
      p.textContent = "The game on this machine changed since this page was loaded. " +
        "Check who is playing before saving; reload the page to see it.";
      box.parentNode.insertBefore(p, box);
    });
  }

  /* Times of today's games: the clock time is enough, in the event's time zone (also after a
   * live refresh brought new ones). */
  function clocks() {
    document.querySelectorAll("time.clock[datetime]").forEach(function (t) {
      var d = new Date(t.getAttribute("datetime"));
      if (isNaN(d)) return;
      var zone = (document.body && document.body.getAttribute("data-time-zone")) || undefined;
      try {
        t.textContent = d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", timeZone: zone });
      } catch (e) { /* a zone this browser does not know: the server's text stays */ }
    });
  }

  document.addEventListener("pss:updated", clocks);
  document.addEventListener("DOMContentLoaded", function () { startScore(); watchGame(); clocks(); });
})();

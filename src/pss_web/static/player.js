/* The player's page: when their turn comes or their place changes (the page refreshes by itself),
 * the box at the top lights up, and a phone that can buzz does. */
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    var box = document.getElementById("live-now");
    var marker = document.getElementById("now-state");
    if (!box || !marker) return;
    var seen = marker.getAttribute("data-state");
    box.addEventListener("pss:updated", function () {
      var now = document.getElementById("now-state");
      var state = now ? now.getAttribute("data-state") : seen;
      if (state === seen) return;
      var turn = /^playing:/.test(state) || /^queued:\d+:1$/.test(state);
      seen = state;
      // The message of the last action (a place in a queue) is out of date now.
      var old = document.querySelector(".flash");
      if (old) old.parentNode.removeChild(old);
      box.classList.remove("changed");
      void box.offsetWidth;  // restart the animation
      box.classList.add("changed");
      if (turn && navigator.vibrate) navigator.vibrate([200, 100, 200]);
    });
  });
})();

/* The desk: the live price of a sale while the count is chosen, count buttons, printing a slip. */
(function () {
  "use strict";

  function startPrint() {
    document.querySelectorAll("[data-print]").forEach(function (b) {
      b.addEventListener("click", function () { window.print(); });
    });
  }

  function startSale() {
    var form = document.getElementById("sell-form");
    if (!form || !window.fetch) return;
    var price = document.getElementById("price");
    var button = document.getElementById("sell-button");
    var quick = document.getElementById("quick");
    var count = form.elements["tickets"];
    var scope = form.elements["scope"];
    var comp = form.querySelector('input[type=checkbox][name="comp"]');
    var code = form.elements["code"];
    var timer = null;
    var asked = 0;

    function chosen() { return scope.options[scope.selectedIndex]; }
    function number(attr, fallback) {
      var n = parseInt(chosen().getAttribute(attr), 10);
      return isNaN(n) ? fallback : n;
    }
    function show(text, lines, cls) {
      price.textContent = text;
      if (lines) {
        var span = document.createElement("span");
        span.className = "lines";
        span.textContent = lines;
        price.appendChild(span);
      }
      price.className = "price" + (cls ? " " + cls : "");
    }
    function label(n, q) {
      var what = n + " ticket" + (n === 1 ? "" : "s");
      if (comp && comp.checked) return "Give " + what + " free";
      return "Sell " + what + (q ? " · " + q.amount : "");
    }
    function quote() {
      var n = count.value.trim();
      if (!/^\d+$/.test(n) || n === "0") { show("Choose how many tickets."); button.textContent = "Sell"; return; }
      var params = new URLSearchParams({ scope: scope.value, tickets: n, comp: comp && comp.checked ? "1" : "0",
                                         code: code ? code.value.trim() : "" });
      var mine = ++asked;
      fetch(form.getAttribute("data-price-url") + "?" + params, {
        headers: { "Accept": "application/json" }, credentials: "same-origin", cache: "no-store"
      }).then(function (r) { return r.json(); }).then(function (q) {
        if (mine !== asked) return;
        if (q.error) { show(q.message, null, "error"); button.textContent = label(parseInt(n, 10)); return; }
        var lines = q.lines.map(function (l) { return l.text; }).join(" + ");
        if (q.games !== q.tickets) lines += (lines ? " · " : "") + q.games + " games";
        if (q.team) lines += (lines ? " · " : "") + "for team " + q.team;
        if (q.offer) lines += (lines ? " · " : "") + q.offer;
        if (!q.available) { show(q.message, null, "error"); }
        else { show(q.comp ? "Free" : "Total: " + q.amount, lines, "ok"); }
        button.textContent = label(q.tickets, q.comp ? null : q);
      }).catch(function () { show("The price could not be worked out; try again.", null, "error"); });
    }
    function later() { window.clearTimeout(timer); timer = window.setTimeout(quote, 200); }

    function setCount(n) {
      var min = number("data-min", 1);
      count.value = String(Math.max(n, min, 1));
      later();
    }
    form.querySelectorAll("button.step").forEach(function (b) {
      b.addEventListener("click", function () {
        var step = number("data-step", 1) * parseInt(b.getAttribute("data-step"), 10);
        setCount((parseInt(count.value, 10) || 0) + step);
      });
    });
    function buildQuick() {
      quick.textContent = "";
      var sizes = (chosen().getAttribute("data-bundles") || "").split(",").filter(Boolean);
      if (!sizes.length) return;
      ["" + number("data-min", 1)].concat(sizes).forEach(function (s) {
        var b = document.createElement("button");
        b.type = "button";
        b.textContent = s === "1" ? "1 ticket" : s + " tickets";
        b.addEventListener("click", function () { setCount(parseInt(s, 10)); });
        quick.appendChild(b);
      });
    }
    scope.addEventListener("change", function () { buildQuick(); later(); });
    form.addEventListener("input", later);
    form.addEventListener("change", later);
    buildQuick();
    quote();
  }

  document.addEventListener("DOMContentLoaded", function () { startPrint(); startSale(); });
})();

// A "Scan" button beside every player-number field (inputs with data-scan): the camera reads the
// QR code on a player's slip or phone and fills in their number. The browser's BarcodeDetector
// is used where it reads QR codes; elsewhere jsQR (installed from npm, served at /vendor/).
(function () {
  "use strict";
  var script = document.currentScript;
  var jsqrUrl = script && script.dataset.jsqr;

  // A player's code is the address of their page, /events/<slug>/players/<number>/.
  function numberFrom(text) {
    var t = (text || "").trim();
    var m = /\/players\/(\d+)\/?(?:[?#].*)?$/.exec(t) || /^#?(\d+)$/.exec(t);
    return m ? m[1] : null;
  }

  var jsqrLoading = null;
  function loadJsQR() {
    if (window.jsQR) return Promise.resolve(window.jsQR);
    if (!jsqrLoading) {
      jsqrLoading = new Promise(function (resolve, reject) {
        var s = document.createElement("script");
        s.src = jsqrUrl;
        s.onload = function () { window.jsQR ? resolve(window.jsQR) : reject(new Error("jsQR")); };
        s.onerror = function () { reject(new Error("The QR reader could not be loaded.")); };
        document.head.appendChild(s);
      });
    }
    return jsqrLoading;
  }

  function makeReader() {
    var viaJsQR = function () {
      return loadJsQR().then(function (jsQR) {
        var canvas = document.createElement("canvas");
        var ctx = canvas.getContext("2d", { willReadFrequently: true });
        return function (video) {
          var w = video.videoWidth, h = video.videoHeight;
          if (!w || !h) return Promise.resolve(null);
          canvas.width = w; canvas.height = h;
          ctx.drawImage(video, 0, 0, w, h);
          var code = jsQR(ctx.getImageData(0, 0, w, h).data, w, h);
          return Promise.resolve(code ? code.data : null);
        };
      });
    };
    if (!("BarcodeDetector" in window)) return viaJsQR();
    return window.BarcodeDetector.getSupportedFormats().then(function (formats) {
      if (formats.indexOf("qr_code") < 0) return viaJsQR();
      var detector = new window.BarcodeDetector({ formats: ["qr_code"] });
      return function (video) {
        return detector.detect(video).then(function (codes) {
          return codes.length ? codes[0].rawValue : null;
        });
      };
    }, viaJsQR);
  }

  function attach(input) {
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) return;
    var button = document.createElement("button");
    button.type = "button";
    button.className = "scan-button";
    button.textContent = "Scan";
    button.setAttribute("aria-label", "Scan a player's QR code with the camera");
    var panel = document.createElement("div");
    panel.className = "scan-panel";
    panel.hidden = true;
    var video = document.createElement("video");
    video.setAttribute("playsinline", "");
    video.muted = true;
    var status = document.createElement("p");
    status.className = "scan-status";
    status.setAttribute("role", "status");
    var cancel = document.createElement("button");
    cancel.type = "button";
    cancel.textContent = "Cancel";
    panel.append(video, status, cancel);
    input.insertAdjacentElement("afterend", button);
    button.insertAdjacentElement("afterend", panel);

    var stream = null, running = false;
    function stop() {
      running = false;
      if (stream) stream.getTracks().forEach(function (t) { t.stop(); });
      stream = null;
      panel.hidden = true;
    }
    cancel.addEventListener("click", function () { stop(); input.focus(); });
    button.addEventListener("click", function () {
      if (running) return;
      running = true;
      panel.hidden = false;
      status.textContent = "Hold the QR code in front of the camera.";
      Promise.all([
        navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" } }),
        makeReader(),
      ]).then(function (got) {
        stream = got[0];
        var read = got[1];
        video.srcObject = stream;
        return video.play().then(function () {
          (function tick() {
            if (!running) return;
            read(video).then(function (text) {
              var number = numberFrom(text);
              if (number) {
                input.value = number;
                input.dispatchEvent(new Event("input", { bubbles: true }));
                input.dispatchEvent(new Event("change", { bubbles: true }));
                input.dataset.scanned = number;
                stop();
                input.focus();
              } else if (running) {
                if (text) status.textContent = "That QR code is not a player's.";
                setTimeout(tick, 150);
              }
            }, function () { if (running) setTimeout(tick, 300); });
          })();
        });
      }).catch(function (err) {
        running = false;
        status.textContent = (err && err.name === "NotAllowedError")
          ? "The camera is not allowed on this page." : "The camera could not be started.";
      });
    });
  }

  function init() {
    document.querySelectorAll("input[data-scan]").forEach(attach);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();

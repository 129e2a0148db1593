// "Notify me on this phone": subscribe this browser to Web Push with the instance's VAPID key and
// hand the subscription to pss (or take it back).
(function () {
  const box = document.getElementById("push");
  if (!box) return;
  const state = document.getElementById("push-state");
  const on = document.getElementById("push-on");
  const off = document.getElementById("push-off");
  const say = (text) => { state.textContent = text; };
  if (!("serviceWorker" in navigator) || !("PushManager" in window)) {
    say("This browser cannot receive notifications; keep this page open instead.");
    on.hidden = true;
    return;
  }
  const key = (b64) => {
    const pad = "=".repeat((4 - (b64.length % 4)) % 4);
    const raw = atob((b64 + pad).replace(/-/g, "+").replace(/_/g, "/"));
    return Uint8Array.from(raw, (c) => c.charCodeAt(0));
  };
  const csrf = () => (document.cookie.match(/(?:^|; )csrf_token=([^;]*)/) || [])[1] || "";
  const send = (url, fields) =>
    fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRF-Token": decodeURIComponent(csrf()) },
      body: JSON.stringify(fields),
    }).then((r) => r.json().then((j) => { if (!r.ok) throw new Error(j.message || r.statusText); return j; }));
  const registration = () => navigator.serviceWorker.register(box.dataset.worker);
  on.addEventListener("click", () => {
    Promise.all([registration(), send(box.dataset.keyUrl, {})])
      .then(([reg, j]) => reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: key(j.public_key) }))
      .then((sub) => {
        const json = sub.toJSON();
        return send(box.dataset.subscribe, { endpoint: json.endpoint, p256dh: json.keys.p256dh, auth: json.keys.auth });
      })
      .then((j) => { say(j.message); off.hidden = false; })
      .catch((e) => say("Notifications could not be turned on: " + e.message));
  });
  off.addEventListener("click", () => {
    registration()
      .then((reg) => reg.pushManager.getSubscription())
      .then((sub) => (sub ? sub.unsubscribe().then(() => send(box.dataset.unsubscribe, { endpoint: sub.endpoint })) : null))
      .then((j) => { say(j ? j.message : "This phone had no notifications on."); off.hidden = true; })
      .catch((e) => say("Notifications could not be turned off: " + e.message));
  });
})();

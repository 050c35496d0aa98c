/* Halo Bestie control center: confirmations and the self-refreshing dashboard. */
(function () {
  "use strict";

  // Destructive buttons ask first: <button data-confirm="Really?">.
  document.addEventListener("submit", function (event) {
    var button = event.submitter;
    var question = button && button.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      event.preventDefault();
    }
  });

  var audioContext = null;
  function beep() {
    try {
      audioContext = audioContext || new (window.AudioContext || window.webkitAudioContext)();
      if (audioContext.state === "suspended") { audioContext.resume(); }
      [0, 0.35].forEach(function (offset) {
        var osc = audioContext.createOscillator();
        var gain = audioContext.createGain();
        osc.type = "sine";
        osc.frequency.value = 880;
        gain.gain.value = 0.15;
        osc.connect(gain);
        gain.connect(audioContext.destination);
        osc.start(audioContext.currentTime + offset);
        osc.stop(audioContext.currentTime + offset + 0.2);
      });
    } catch (err) {
      /* No audio (autoplay policy, no device): the red banner still shows. */
    }
  }

  function flaggedIds(root) {
    return Array.prototype.map.call(root.querySelectorAll("[data-flagged-id]"), function (el) {
      return el.getAttribute("data-flagged-id");
    });
  }

  function startDashboard(live) {
    var url = live.getAttribute("data-live-url");
    var every = Math.max(2, parseInt(live.getAttribute("data-poll-seconds"), 10) || 5) * 1000;
    var status = document.getElementById("live-status");
    var seen = new Set(flaggedIds(live));
    var baseTitle = document.title;

    function setStatus(text, stale) {
      if (!status) { return; }
      status.textContent = text;
      status.classList.toggle("stale", !!stale);
    }

    function refresh() {
      fetch(url, { headers: { "X-Requested-With": "fetch" }, credentials: "same-origin", cache: "no-store" })
        .then(function (response) {
          if (response.status === 401) { window.location.reload(); return null; }
          if (!response.ok) { throw new Error("HTTP " + response.status); }
          return response.text();
        })
        .then(function (html) {
          if (html === null) { return; }
          live.innerHTML = html;
          var ids = flaggedIds(live);
          var fresh = ids.filter(function (id) { return !seen.has(id); });
          if (fresh.length) { beep(); }
          seen = new Set(ids);
          document.title = (ids.length ? "(" + ids.length + " flagged) " : "") + baseTitle;
          setStatus("Live · updated " + new Date().toLocaleTimeString(), false);
        })
        .catch(function () {
          setStatus("Connection lost · retrying", true);
        })
        .finally(function () {
          window.setTimeout(refresh, every);
        });
    }

    window.setTimeout(refresh, every);
  }

  document.addEventListener("DOMContentLoaded", function () {
    var live = document.getElementById("live");
    if (live && live.getAttribute("data-live-url")) { startDashboard(live); }
  });
})();

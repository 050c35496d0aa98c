/* Halo Bestie control center: confirmations, the self-refreshing dashboard, and the crisis alert
   that repeats until a human acknowledges every new case (with a sound switch for the shift). */
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
  var soundOn = false;
  function beep() {
    if (!soundOn || !audioContext) { return; }
    try {
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

  // Browsers only allow sound after a click on the page: the supervisor turns it on at the
  // start of the shift (the click creates and unlocks the audio context).
  function setupSound(button) {
    function show() {
      button.setAttribute("data-sound", soundOn ? "on" : "off");
      button.textContent = soundOn ? "Sound on (click to mute)" : "Enable sound for this shift";
    }
    button.addEventListener("click", function () {
      if (!soundOn) {
        try {
          audioContext = audioContext || new (window.AudioContext || window.webkitAudioContext)();
          audioContext.resume();
          soundOn = true;
        } catch (err) {
          soundOn = false;
          button.textContent = "Sound unavailable in this browser";
          return;
        }
        beep();
      } else {
        soundOn = false;
      }
      show();
    });
    show();
  }

  // Repeats while any case on the page is unacknowledged ([data-unacked-case]).
  var alertTimer = null;
  function updateAlert(live) {
    var unacked = live.querySelectorAll("[data-unacked-case]").length;
    document.body.setAttribute("data-alert", unacked ? "repeating" : "idle");
    if (unacked && alertTimer === null) {
      var every = Math.max(1, parseInt(live.getAttribute("data-alert-repeat-seconds"), 10) || 4) * 1000;
      var ring = function () {
        live.setAttribute("data-alert-count", String((parseInt(live.getAttribute("data-alert-count"), 10) || 0) + 1));
        beep();
      };
      ring();
      alertTimer = window.setInterval(ring, every);
    } else if (!unacked && alertTimer !== null) {
      window.clearInterval(alertTimer);
      alertTimer = null;
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
          updateAlert(live);
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

    updateAlert(live);
    window.setTimeout(refresh, every);
  }

  document.addEventListener("DOMContentLoaded", function () {
    var live = document.getElementById("live");
    var sound = document.getElementById("sound-toggle");
    if (sound) { setupSound(sound); }
    if (live && live.getAttribute("data-live-url")) { startDashboard(live); }
  });
})();

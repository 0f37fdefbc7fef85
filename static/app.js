// Small progressive enhancements; every page works without this file.
"use strict";

// Elements with data-poll-url refresh their inner HTML from that URL every few seconds
// (import progress, live counts). The server returns an HTML fragment.
function startPolling(element) {
  const url = element.dataset.pollUrl;
  const every = parseInt(element.dataset.pollEvery || "2000", 10);
  const tick = async () => {
    try {
      const response = await fetch(url, { headers: { "X-Requested-With": "fetch" } });
      if (response.ok) {
        element.innerHTML = await response.text();
        // The page around the fragment (title badge, buttons) was drawn for the status the
        // page opened with; once that changes, the whole page is drawn again.
        const shown = element.querySelector("[data-status]");
        const openedWith = element.dataset.reloadOnStatus;
        if (openedWith && shown && shown.dataset.status !== openedWith) {
          window.location.reload();
          return;
        }
        if (element.querySelector("[data-poll-done]")) return;
      }
    } catch (_error) {
      // A dropped connection is retried on the next tick.
    }
    setTimeout(tick, every);
  };
  setTimeout(tick, every);
}

document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("[data-poll-url]").forEach(startPolling);
  document.querySelectorAll("[data-confirm]").forEach((element) => {
    element.addEventListener("click", (event) => {
      if (!window.confirm(element.dataset.confirm)) event.preventDefault();
    });
  });
});

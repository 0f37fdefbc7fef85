// The bell's unread count stays current on every page without a reload: a small JSON
// request every few seconds while the page is visible, as the navigation counts do.
"use strict";

const BELL_POLL_EVERY_MS = 5000;

function startBell(bell) {
  const counter = bell.querySelector("[data-bell-count]");
  const tick = async () => {
    if (!document.hidden) {
      try {
        const response = await fetch(bell.dataset.notificationsUrl, {
          headers: { Accept: "application/json" },
        });
        if (response.ok) {
          const data = await response.json();
          counter.textContent = String(data.unread);
          counter.classList.toggle("is-zero", data.unread === 0);
        }
      } catch (_error) {
        // Offline or logged out for a moment: try again on the next tick.
      }
    }
    setTimeout(tick, BELL_POLL_EVERY_MS);
  };
  setTimeout(tick, BELL_POLL_EVERY_MS);
}

document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("[data-notifications-url]").forEach(startBell);
});

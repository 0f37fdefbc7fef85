// The ticket counts in the main navigation (Unassigned, Mine) stay current on every page:
// a small JSON request every few seconds while the page is visible. Queue pages refresh
// the same numbers with their own updates, so this stays quiet there.
"use strict";

const NAV_POLL_EVERY_MS = 10000;

function startNavCounts(holder) {
  const tick = async () => {
    if (!document.hidden) {
      try {
        const response = await fetch(holder.dataset.navCounts, {
          headers: { Accept: "application/json" },
        });
        if (response.ok) {
          const data = await response.json();
          for (const [key, n] of Object.entries(data.counts)) {
            holder.querySelectorAll(`[data-count="${key}"]`).forEach((element) => {
              element.textContent = String(n);
            });
          }
        }
      } catch (_error) {
        // Offline or logged out for a moment: try again on the next tick.
      }
    }
    setTimeout(tick, NAV_POLL_EVERY_MS);
  };
  setTimeout(tick, NAV_POLL_EVERY_MS);
}

document.addEventListener("DOMContentLoaded", () => {
  if (document.querySelector("table.queue[data-updates-url]")) return;
  document.querySelectorAll("[data-nav-counts]").forEach(startNavCounts);
});

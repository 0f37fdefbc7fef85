// The dashboard's "now" figures refresh by themselves: the fragment at data-refresh-url
// replaces the section's content every data-refresh-every ms while the tab is visible.
// Without this file the page still shows the figures as of its loading.
"use strict";

function startRefresh(element) {
  const every = parseInt(element.dataset.refreshEvery || "30000", 10);
  const tick = async () => {
    if (document.visibilityState === "visible") {
      try {
        const response = await fetch(element.dataset.refreshUrl, {
          headers: { "X-Requested-With": "fetch" },
          credentials: "same-origin",
        });
        if (response.ok) {
          element.innerHTML = await response.text();
          element.dataset.refreshed = String(Number(element.dataset.refreshed || 0) + 1);
        }
      } catch (_error) {
        // Offline for a moment: the next tick tries again.
      }
    }
    setTimeout(tick, every);
  };
  setTimeout(tick, every);
}

document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("[data-refresh-url]").forEach(startRefresh);
});

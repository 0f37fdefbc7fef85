// The bell's unread count stays current on every page without a reload: a small JSON
// request every few seconds while the page is visible, as the navigation counts do.
// A click on the bell opens the latest notifications under it instead of following the
// link to the list page, which stays the way in without JavaScript.
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

function startBellMenu(bell) {
  const panel = document.getElementById("bell-menu");
  if (!panel || !bell.dataset.menuUrl) return;
  bell.setAttribute("aria-haspopup", "true");
  bell.setAttribute("aria-expanded", "false");
  bell.setAttribute("aria-controls", panel.id);

  const close = (returnFocus) => {
    if (panel.hidden) return;
    panel.hidden = true;
    bell.setAttribute("aria-expanded", "false");
    if (returnFocus) bell.focus();
  };

  const open = async () => {
    let response;
    try {
      response = await fetch(bell.dataset.menuUrl, { headers: { Accept: "text/html" } });
    } catch (_error) {
      response = null;
    }
    if (!response || !response.ok) {
      // The list page says the same and shows why it cannot if it cannot.
      window.location.href = bell.href;
      return;
    }
    // The fragment is our own template, rendered with autoescaping like every page.
    panel.innerHTML = await response.text();
    panel.hidden = false;
    bell.setAttribute("aria-expanded", "true");
    const first = panel.querySelector("button, a");
    if (first) first.focus();
  };

  bell.addEventListener("click", (event) => {
    // A new tab or window still gets the list page.
    if (event.ctrlKey || event.metaKey || event.shiftKey || event.button !== 0) return;
    event.preventDefault();
    if (panel.hidden) open();
    else close(false);
  });
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && !panel.hidden) {
      event.preventDefault();
      close(true);
    }
  });
  document.addEventListener("click", (event) => {
    if (!panel.contains(event.target) && !bell.contains(event.target)) close(false);
  });
  panel.addEventListener("focusout", (event) => {
    if (event.relatedTarget && !panel.contains(event.relatedTarget) && event.relatedTarget !== bell) {
      close(false);
    }
  });
}

document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("[data-notifications-url]").forEach((bell) => {
    startBell(bell);
    startBellMenu(bell);
  });
});

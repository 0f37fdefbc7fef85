// The ticket page, live: who else views it and who is typing, a banner when the ticket
// changed, and mail HTML frames sized to their content. The page works without it.
"use strict";

(() => {
  const root = document.getElementById("ticket");
  if (!root) return;
  const csrfToken = document.querySelector('meta[name="csrf-token"]').content;
  const every = parseInt(root.dataset.pollEvery || "3000", 10);
  const pageVersion = parseInt(root.dataset.version, 10);
  const pageLatest = parseInt(root.dataset.latestMessageId, 10);
  const presenceBox = document.getElementById("presence");
  const banner = document.getElementById("changed-banner");
  const replyBody = document.getElementById("reply-body");
  const TYPING_MS = 5000;
  let lastTyped = 0;

  const isTyping = () => Date.now() - lastTyped < TYPING_MS;

  function render(viewers) {
    const items = viewers.map((viewer) => {
      const item = document.createElement("span");
      item.className = viewer.typing ? "viewer typing" : "viewer";
      const text = viewer.typing ? root.dataset.textTyping : root.dataset.textViewing;
      item.textContent = text.replace("{name}", viewer.name);
      return item;
    });
    presenceBox.replaceChildren(...items);
  }

  async function heartbeat() {
    try {
      const response = await fetch(root.dataset.presenceUrl, {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken },
        body: JSON.stringify({ typing: isTyping() }),
      });
      if (!response.ok) return;
      const state = await response.json();
      render(state.viewers);
      if (state.version > pageVersion || state.latest_message_id > pageLatest) {
        banner.hidden = false;
      }
    } catch (_error) {
      // A dropped connection is retried on the next tick.
    }
  }

  if (replyBody) {
    replyBody.addEventListener("input", () => {
      const wasIdle = !isTyping();
      lastTyped = Date.now();
      // Tell the others right away, not only at the next tick.
      if (wasIdle) heartbeat();
    });
  }
  heartbeat();
  setInterval(heartbeat, every);

  window.addEventListener("pagehide", () => {
    const form = new FormData();
    form.append("csrf_token", csrfToken);
    navigator.sendBeacon(root.dataset.leaveUrl, form);
  });

  // The frames are same-origin without scripts, so this page can measure their content.
  function fit(frame) {
    try {
      const height = frame.contentDocument.documentElement.scrollHeight;
      if (height) frame.style.height = `${height + 8}px`;
    } catch (_error) {
      // Not readable yet; the load event fits it.
    }
  }
  document.querySelectorAll("iframe.mail-frame").forEach((frame) => {
    frame.addEventListener("load", () => fit(frame));
    fit(frame);
    const details = frame.closest("details");
    if (details) details.addEventListener("toggle", () => fit(frame));
  });
})();

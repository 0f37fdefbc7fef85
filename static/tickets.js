// The ticket page, live: who else views it and who is typing, new messages added to the
// conversation as they arrive (the draft stays as it is), a banner when something else
// changed, and mail HTML frames sized to their content. The page works without it.
"use strict";

(() => {
  const root = document.getElementById("ticket");
  if (!root) return;
  const csrfToken = document.querySelector('meta[name="csrf-token"]').content;
  const every = parseInt(root.dataset.pollEvery || "3000", 10);
  let knownVersion = parseInt(root.dataset.version, 10);
  let shownLatest = parseInt(root.dataset.latestMessageId, 10);
  let fetching = false;
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
      if (state.latest_message_id > shownLatest) {
        await addNewMessages();
      } else if (state.version > knownVersion) {
        banner.hidden = false;
      }
    } catch (_error) {
      // A dropped connection is retried on the next tick.
    }
  }

  // The reply's "seen up to" stays: a message shown while the agent types may go unread,
  // so the double-reply guard still asks once before sending over it.
  async function addNewMessages() {
    if (fetching) return;
    fetching = true;
    try {
      const url = `${root.dataset.messagesUrl}?after=${shownLatest}`;
      const response = await fetch(url, { credentials: "same-origin" });
      if (!response.ok) {
        banner.hidden = false;
        return;
      }
      const update = await response.json();
      if (update.latest_message_id <= shownLatest) return;
      const conversation = document.getElementById("conversation");
      conversation.querySelector(".empty-state")?.remove();
      conversation.insertAdjacentHTML("beforeend", update.html);
      conversation.querySelectorAll("iframe.mail-frame").forEach(watchFrame);
      shownLatest = update.latest_message_id;
      knownVersion = Math.max(knownVersion, update.version);
      document.getElementById("arrived-note").textContent = root.dataset.textArrived;
    } finally {
      fetching = false;
    }
  }

  function typing() {
    const wasIdle = !isTyping();
    lastTyped = Date.now();
    // Tell the others right away, not only at the next tick.
    if (wasIdle) heartbeat();
  }
  if (replyBody) {
    replyBody.addEventListener("input", typing);
    // The rich editor (static/rich_reply.js) stands in for the textarea.
    document.addEventListener("trix-change", (event) => {
      if (event.target.id === "reply-editor") typing();
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
  function watchFrame(frame) {
    if (frame.dataset.watched) return;
    frame.dataset.watched = "1";
    frame.addEventListener("load", () => fit(frame));
    fit(frame);
    const details = frame.closest("details");
    if (details) details.addEventListener("toggle", () => fit(frame));
  }
  document.querySelectorAll("iframe.mail-frame").forEach(watchFrame);
})();

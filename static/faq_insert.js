// "Insert" on a suggested FAQ answer: put the answer into the reply box and count the use.
"use strict";

(function () {
  if (window.faqInsertReady) return; // the partial may be included more than once
  window.faqInsertReady = true;

  // Where the agent last put the cursor in the reply; until they do, answers go at the end.
  let caret = null;
  ["keyup", "mouseup", "select", "input"].forEach((type) => {
    document.addEventListener(type, (event) => {
      if (event.target.id === "reply-body") {
        caret = { start: event.target.selectionStart, end: event.target.selectionEnd };
      }
    });
  });

  function insertIntoReply(text) {
    if (window.richReply) {
      window.richReply.insert(text, 2); // the rich editor (static/rich_reply.js)
      return true;
    }
    const box = document.getElementById("reply-body");
    if (!box) return false;
    const start = caret ? Math.min(caret.start, box.value.length) : box.value.length;
    const end = caret ? Math.min(caret.end, box.value.length) : box.value.length;
    const before = box.value.slice(0, start);
    const spacer = before && !before.endsWith("\n\n") ? (before.endsWith("\n") ? "\n" : "\n\n") : "";
    box.setRangeText(spacer + text, start, end, "end");
    caret = { start: box.selectionStart, end: box.selectionEnd };
    box.dispatchEvent(new Event("input", { bubbles: true }));
    box.focus();
    return true;
  }

  function countUse(button) {
    const token = document.querySelector('meta[name="csrf-token"]');
    const body = button.dataset.ticketId ? { ticket_id: Number(button.dataset.ticketId) } : {};
    return fetch(button.dataset.usedUrl, {
      method: "POST",
      credentials: "same-origin",
      headers: {
        "Content-Type": "application/json",
        "X-CSRFToken": token ? token.content : "",
      },
      body: JSON.stringify(body),
    }).catch(() => {
      // Counting is a statistic; a lost request must not disturb the reply.
    });
  }

  document.addEventListener("click", (event) => {
    const button = event.target.closest(".faq-insert");
    if (!button) return;
    event.preventDefault();
    if (insertIntoReply(button.dataset.answer)) {
      button.disabled = true;
      countUse(button);
    }
  });
})();

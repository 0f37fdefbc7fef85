// "Insert" on a suggested FAQ answer: put the answer into the reply box and count the use.
"use strict";

(function () {
  if (window.faqInsertReady) return; // the partial may be included more than once
  window.faqInsertReady = true;

  function insertIntoReply(text) {
    const box = document.getElementById("reply-body");
    if (!box) return false;
    const start = box.selectionStart ?? box.value.length;
    const end = box.selectionEnd ?? box.value.length;
    const before = box.value.slice(0, start);
    const spacer = before && !before.endsWith("\n\n") ? (before.endsWith("\n") ? "\n" : "\n\n") : "";
    box.setRangeText(spacer + text, start, end, "end");
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

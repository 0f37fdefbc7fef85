// Keyboard shortcuts for the queue and the ticket page; `?` lists them. Keys typed into
// a text box stay text (Esc leaves the box). The queue remembers its order, so j/k on a
// ticket page go to the neighbouring ticket of the list the agent came from.
"use strict";

(() => {
  const overlay = document.getElementById("shortcuts");
  if (!overlay) return;
  const ticket = document.getElementById("ticket");
  const QUEUE_KEY = "helpdesk.queue";
  // The selected row's ticket, not its position: the live queue replaces and inserts
  // rows, and j/k/Enter must keep meaning the ticket the agent sees highlighted.
  let selectedId = null;
  // A rich editor left with Esc. Trix renders what was just typed a moment later and
  // then puts the caret back, which focuses the editor again; until the agent acts
  // again, that focus is undone, so the next key is a shortcut and not text.
  let leftEditor = null;

  const rows = () => [...document.querySelectorAll("tr[data-ticket-id]")];
  const isTextBox = (element) =>
    element &&
    (element.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(element.tagName));

  function rememberQueue() {
    const ids = rows().map((row) => row.dataset.ticketId);
    if (ids.length) sessionStorage.setItem(QUEUE_KEY, JSON.stringify(ids));
  }

  function markSelected() {
    rows().forEach((row) => row.classList.toggle("selected", row.dataset.ticketId === selectedId));
  }

  function select(step) {
    const all = rows();
    if (!all.length) return;
    const current = all.findIndex((row) => row.dataset.ticketId === selectedId);
    const index = current < 0 ? 0 : current + step;
    const row = all[Math.max(0, Math.min(index, all.length - 1))];
    selectedId = row.dataset.ticketId;
    markSelected();
    row.scrollIntoView({ block: "nearest" });
  }

  function openSelected() {
    const row = rows().find((candidate) => candidate.dataset.ticketId === selectedId);
    const link = row && row.querySelector('a[href*="/tickets/"]');
    if (link) window.location.assign(link.href);
  }

  function neighbour(step) {
    const ids = JSON.parse(sessionStorage.getItem(QUEUE_KEY) || "[]");
    const next = ids[ids.indexOf(ticket.dataset.ticketId) + step];
    if (ids.includes(ticket.dataset.ticketId) && next) window.location.assign(`/tickets/${next}`);
  }

  function toggleOverlay(show) {
    overlay.hidden = !show;
    if (show) document.getElementById("shortcuts-close").focus();
  }

  const focus = (selector) => {
    const element = document.querySelector(selector);
    if (!element) return;
    element.scrollIntoView({ block: "center" });
    element.focus();
  };
  const click = (id) => document.getElementById(id)?.click();

  const ticketKeys = {
    j: () => neighbour(1),
    k: () => neighbour(-1),
    // The rich editor (static/rich_reply.js) stands in for the textarea when it runs.
    r: () => focus(document.getElementById("reply-editor") ? "#reply-editor" : "#reply-body"),
    n: () => focus("#note textarea"),
    a: () => click("assign-me"),
    c: () => document.getElementById("shortcut-resolve")?.submit(),
  };
  const queueKeys = {
    j: () => select(1),
    k: () => select(-1),
    Enter: openSelected,
    o: openSelected,
  };

  document.addEventListener("keydown", (event) => {
    leftEditor = null;
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (isTextBox(event.target)) {
      if (event.key === "Escape") {
        event.target.blur();
        if (event.target.tagName === "TRIX-EDITOR") leftEditor = event.target;
      }
      return;
    }
    // Enter on a focused link or button (the bell, a menu entry) is that control's own.
    if (event.key === "Enter" && event.target.closest?.("a, button, summary")) return;
    if (event.key === "?") {
      toggleOverlay(overlay.hidden);
    } else if (event.key === "Escape") {
      toggleOverlay(false);
    } else if (overlay.hidden) {
      const action = (ticket ? ticketKeys : queueKeys)[event.key];
      if (!action) return;
      event.preventDefault();
      action();
    }
  });
  document.addEventListener("pointerdown", () => {
    leftEditor = null;
  });
  document.addEventListener("trix-render", (event) => {
    if (event.target === leftEditor) event.target.blur();
  });
  document.getElementById("shortcuts-open").addEventListener("click", () => toggleOverlay(true));
  document.getElementById("shortcuts-close").addEventListener("click", () => toggleOverlay(false));
  rememberQueue();
  // The live queue redraws its rows; keep the remembered order and the highlight current.
  const table = document.querySelector("tr[data-ticket-id]")?.closest("table");
  if (table) {
    new MutationObserver(() => {
      rememberQueue();
      markSelected();
    }).observe(table, { childList: true, subtree: true });
  }
})();

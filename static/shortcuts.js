// Keyboard shortcuts for the queue and the ticket page; `?` lists them. Keys typed into
// a text box stay text (Esc leaves the box). The queue remembers its order, so j/k on a
// ticket page go to the neighbouring ticket of the list the agent came from.
"use strict";

(() => {
  const overlay = document.getElementById("shortcuts");
  if (!overlay) return;
  const ticket = document.getElementById("ticket");
  const QUEUE_KEY = "helpdesk.queue";
  let selected = -1;

  const rows = () => [...document.querySelectorAll("tr[data-ticket-id]")];
  const isTextBox = (element) =>
    element &&
    (element.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(element.tagName));

  function rememberQueue() {
    const ids = rows().map((row) => row.dataset.ticketId);
    if (ids.length) sessionStorage.setItem(QUEUE_KEY, JSON.stringify(ids));
  }

  function select(index) {
    const all = rows();
    if (!all.length) return;
    selected = Math.max(0, Math.min(index, all.length - 1));
    all.forEach((row, i) => row.classList.toggle("selected", i === selected));
    all[selected].scrollIntoView({ block: "nearest" });
  }

  function openSelected() {
    const row = rows()[selected];
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
    j: () => select(selected + 1),
    k: () => select(selected - 1),
    Enter: openSelected,
    o: openSelected,
  };

  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (isTextBox(event.target)) {
      if (event.key === "Escape") event.target.blur();
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
  document.getElementById("shortcuts-open").addEventListener("click", () => toggleOverlay(true));
  document.getElementById("shortcuts-close").addEventListener("click", () => toggleOverlay(false));
  rememberQueue();
  // The live queue redraws its rows; keep the remembered order current.
  const table = document.querySelector("tr[data-ticket-id]")?.closest("table");
  if (table) new MutationObserver(rememberQueue).observe(table, { childList: true, subtree: true });
})();

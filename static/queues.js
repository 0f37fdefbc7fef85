// Ticket lists stay current without a reload: every few seconds the page asks the server
// what changed since the newest change it knows, inserts new rows and refreshes counts.
"use strict";

const POLL_EVERY_MS = 5000;

function rowFromHtml(html) {
  const template = document.createElement("template");
  template.innerHTML = `<table><tbody>${html}</tbody></table>`;
  return template.content.querySelector("tr");
}

// The heading's number follows its view's count when no other filter narrows the list.
function updateCounts(counts) {
  for (const [view, n] of Object.entries(counts)) {
    const selector = `[data-count="${view}"], [data-total-view="${view}"]`;
    document.querySelectorAll(selector).forEach((element) => {
      element.textContent = String(n);
    });
  }
}

function applyRows(table, data) {
  const body = table.querySelector("tbody");
  const incoming = new Map(data.rows.map((row) => [String(row.id), row]));
  let changedOnPage = false;
  // Rows of tickets that changed and no longer belong to this view leave the list.
  for (const id of data.changed) {
    const existing = body.querySelector(`tr[data-ticket-id="${id}"]`);
    if (existing && !incoming.has(String(id))) {
      existing.remove();
      changedOnPage = true;
    }
  }
  // Newest last so that, prepending one by one, the newest ends on top.
  for (const row of [...data.rows].reverse()) {
    const existing = body.querySelector(`tr[data-ticket-id="${row.id}"]`);
    if (existing && existing.dataset.version === row.version) continue;
    const fresh = rowFromHtml(row.html);
    if (existing) {
      const box = existing.querySelector("input[type=checkbox]");
      if (box && box.checked) fresh.querySelector("input[type=checkbox]").checked = true;
      existing.remove();
    }
    fresh.classList.add("fresh");
    body.prepend(fresh);
    changedOnPage = true;
  }
  return changedOnPage;
}

function startLiveQueue(table) {
  const notice = document.querySelector("[data-live-notice]");
  const empty = document.querySelector("[data-empty]");
  let since = table.dataset.since;
  const tick = async () => {
    try {
      const url = new URL(table.dataset.updatesUrl, window.location.href);
      url.searchParams.set("since", since);
      const response = await fetch(url, { headers: { Accept: "application/json" } });
      if (response.ok) {
        const data = await response.json();
        since = data.latest;
        updateCounts(data.counts);
        if (table.dataset.live === "insert") {
          if (applyRows(table, data) && table.querySelector("tbody tr")) {
            table.hidden = false;
            if (empty) empty.hidden = true;
          }
        } else if (data.rows.length && notice) {
          notice.hidden = false;
        }
      }
    } catch (_error) {
      // Offline for a moment: try again on the next tick.
    }
    setTimeout(tick, POLL_EVERY_MS);
  };
  setTimeout(tick, POLL_EVERY_MS);
}

document.addEventListener("DOMContentLoaded", () => {
  const table = document.querySelector("table.queue[data-updates-url]");
  if (table) startLiveQueue(table);
  const all = document.querySelector("[data-select-all]");
  if (all) {
    all.addEventListener("change", () => {
      document.querySelectorAll('input[name="ticket_ids"]').forEach((box) => {
        box.checked = all.checked;
      });
    });
  }
});

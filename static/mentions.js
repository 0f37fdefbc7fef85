// @mentions in internal notes: typing "@" and the start of a name lists matching agents
// (from a small JSON endpoint); Enter, Tab or a click puts "@Handle " into the note.
"use strict";

const MENTION_BEFORE_CARET = /(?:^|[^\p{L}\p{N}_@.])@([\p{L}\p{N}_.-]{0,40})$/u;

function startMentions(textarea, agentsUrl) {
  const list = document.createElement("ul");
  list.className = "mention-list";
  list.setAttribute("role", "listbox");
  list.hidden = true;
  textarea.insertAdjacentElement("afterend", list);
  let active = 0;
  let request = 0;

  const close = () => {
    list.hidden = true;
    list.replaceChildren();
  };

  const typed = () => {
    const before = textarea.value.slice(0, textarea.selectionStart);
    const match = MENTION_BEFORE_CARET.exec(before);
    return match ? { query: match[1], start: before.length - match[1].length - 1 } : null;
  };

  const choose = (item) => {
    const found = typed();
    if (!found) return close();
    const caret = textarea.selectionStart;
    const insert = `@${item.dataset.handle} `;
    textarea.value = textarea.value.slice(0, found.start) + insert + textarea.value.slice(caret);
    const at = found.start + insert.length;
    textarea.setSelectionRange(at, at);
    textarea.focus();
    close();
  };

  const highlight = (index) => {
    const items = list.querySelectorAll("li");
    if (!items.length) return;
    active = (index + items.length) % items.length;
    items.forEach((li, i) => li.setAttribute("aria-selected", String(i === active)));
  };

  const show = async () => {
    const found = typed();
    if (!found) return close();
    const mine = ++request;
    try {
      const response = await fetch(`${agentsUrl}?q=${encodeURIComponent(found.query)}`, {
        headers: { Accept: "application/json" },
      });
      if (!response.ok || mine !== request) return;
      const data = await response.json();
      list.replaceChildren(
        ...data.agents.map((agent) => {
          const li = document.createElement("li");
          li.setAttribute("role", "option");
          li.dataset.handle = agent.handle;
          li.textContent = agent.name;
          li.addEventListener("mousedown", (event) => {
            event.preventDefault();
            choose(li);
          });
          return li;
        }),
      );
      list.hidden = data.agents.length === 0;
      highlight(0);
    } catch (_error) {
      close();
    }
  };

  textarea.addEventListener("input", show);
  textarea.addEventListener("blur", close);
  textarea.addEventListener("keydown", (event) => {
    if (list.hidden) return;
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      highlight(active + (event.key === "ArrowDown" ? 1 : -1));
    } else if (event.key === "Enter" || event.key === "Tab") {
      event.preventDefault();
      choose(list.querySelectorAll("li")[active]);
    } else if (event.key === "Escape") {
      close();
    }
  });
}

const mentionsScript = document.currentScript;
document.addEventListener("DOMContentLoaded", () => {
  const url = mentionsScript.dataset.agentsUrl;
  document.querySelectorAll("textarea[data-mentions]").forEach((t) => startMentions(t, url));
});

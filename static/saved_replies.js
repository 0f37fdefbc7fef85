// The saved reply picker in the reply composer: search, choose, and the server renders
// the reply's placeholders for this ticket (and counts the use). Typing "/" or "#" at the
// start of the reply opens the same list, filtered by what follows it.
"use strict";

(function () {
  const root = document.getElementById("saved-reply-picker");
  const box = document.getElementById("reply-body");
  if (!root || !box) return;
  const button = document.getElementById("saved-replies-button");
  const panel = document.getElementById("saved-reply-panel");
  const search = document.getElementById("saved-reply-search");
  const list = document.getElementById("saved-reply-list");
  const status = document.getElementById("saved-reply-status");
  const token = document.querySelector('meta[name="csrf-token"]');
  const SHORTCUT = /^[/#]([^\n]{0,80})$/;

  let items = [];
  let active = 0;
  let slashMode = false; // opened by "/" or "#": the text typed so far is the filter
  let caret = null; // where the agent last was in the reply, for the button's insert
  let lookup = 0; // only the newest search's answer is shown

  function open(filter) {
    panel.hidden = false;
    button.setAttribute("aria-expanded", "true");
    load(filter);
  }

  function close() {
    panel.hidden = true;
    slashMode = false;
    button.setAttribute("aria-expanded", "false");
  }

  async function load(filter) {
    const mine = ++lookup;
    const url = `${root.dataset.pickerUrl}?q=${encodeURIComponent(filter)}`;
    try {
      const response = await fetch(url, { credentials: "same-origin" });
      const data = await response.json();
      if (mine !== lookup) return;
      items = data.replies || [];
    } catch (error) {
      items = [];
    }
    active = 0;
    show();
  }

  function show() {
    list.replaceChildren(
      ...items.map((item, index) => {
        const entry = document.createElement("li");
        entry.className = "saved-reply-item" + (index === active ? " active" : "");
        entry.setAttribute("role", "option");
        entry.setAttribute("aria-selected", String(index === active));
        entry.dataset.index = String(index);
        const title = document.createElement("strong");
        title.textContent = item.title;
        const where = document.createElement("span");
        where.className = "hint";
        where.textContent = [item.folder, item.shared ? root.dataset.textShared : ""]
          .filter(Boolean)
          .join(" · ");
        const excerpt = document.createElement("p");
        excerpt.className = "hint";
        excerpt.textContent = item.excerpt;
        entry.append(title, " ", where, excerpt);
        return entry;
      })
    );
    status.textContent = items.length ? "" : root.dataset.textEmpty;
  }

  function move(step) {
    if (!items.length) return;
    active = (active + step + items.length) % items.length;
    show();
  }

  async function choose(index) {
    const item = items[index];
    if (!item) return;
    const fromSlash = slashMode;
    const end = fromSlash ? box.selectionStart : null;
    close();
    let data;
    try {
      const response = await fetch(item.insert_url, {
        method: "POST",
        credentials: "same-origin",
        headers: {
          "Content-Type": "application/json",
          "X-CSRFToken": token ? token.content : "",
        },
        body: JSON.stringify({ ticket_id: Number(root.dataset.ticketId) }),
      });
      data = await response.json();
      if (!response.ok) throw new Error(data.error || "");
    } catch (error) {
      status.textContent = error.message || root.dataset.textFailed;
      panel.hidden = false;
      return;
    }
    const rich = window.richReply; // the rich editor (static/rich_reply.js), when it runs
    if (rich) {
      if (fromSlash) rich.replaceBeforeCaret(data.text);
      else rich.insert(data.text);
      return;
    }
    if (fromSlash) {
      box.setRangeText(data.text, 0, end, "end"); // the "/filter" typed becomes the reply
    } else {
      const start = caret ? Math.min(caret.start, box.value.length) : box.value.length;
      const stop = caret ? Math.min(caret.end, box.value.length) : box.value.length;
      const before = box.value.slice(0, start);
      const spacer = before && !before.endsWith("\n") ? "\n" : "";
      box.setRangeText(spacer + data.text, start, stop, "end");
    }
    box.dispatchEvent(new Event("input", { bubbles: true }));
    box.focus();
  }

  button.addEventListener("click", () => {
    if (!panel.hidden) {
      close();
      return;
    }
    open(search.value);
    search.focus();
  });
  search.addEventListener("input", () => load(search.value));
  search.addEventListener("keydown", (event) => {
    if (event.key === "ArrowDown") move(1);
    else if (event.key === "ArrowUp") move(-1);
    else if (event.key === "Enter") choose(active);
    else if (event.key === "Escape") close();
    else return;
    event.preventDefault();
  });
  list.addEventListener("click", (event) => {
    const entry = event.target.closest(".saved-reply-item");
    if (entry) choose(Number(entry.dataset.index));
  });

  ["keyup", "mouseup", "select"].forEach((type) => {
    box.addEventListener(type, () => {
      caret = { start: box.selectionStart, end: box.selectionEnd };
    });
  });
  function typed(beforeCaret) {
    const match = SHORTCUT.exec(beforeCaret);
    if (match) {
      slashMode = true;
      open(match[1]);
    } else if (slashMode) {
      close();
    }
  }
  box.addEventListener("input", () => {
    caret = { start: box.selectionStart, end: box.selectionEnd };
    typed(box.value.slice(0, box.selectionStart));
  });
  const rich = window.richReply;
  if (rich) {
    rich.editor.addEventListener("trix-change", () => typed(rich.textBeforeCaret()));
  }
  (rich ? rich.editor : box).addEventListener("keydown", (event) => {
    if (!slashMode || panel.hidden) return;
    if (event.key === "ArrowDown") move(1);
    else if (event.key === "ArrowUp") move(-1);
    else if (event.key === "Enter" && items.length) choose(active);
    else if (event.key === "Escape") close();
    else return;
    event.preventDefault();
    event.stopPropagation(); // before the editor takes Enter as a new paragraph
  }, true);
})();

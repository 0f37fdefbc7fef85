// The merge picker filters its list while the agent types; without JavaScript the
// search button reloads the page with the same list.
(function () {
  "use strict";
  const form = document.getElementById("merge-picker");
  const list = document.getElementById("merge-options");
  if (!form || !list) return;
  const input = form.querySelector("input[name=q]");
  let timer = null;
  let latest = 0;

  function item(option) {
    const li = document.createElement("li");
    const link = document.createElement("a");
    link.href = option.url;
    link.textContent = "#" + option.id + " " + option.subject;
    li.append(link, " ");
    const hint = document.createElement("span");
    hint.className = "hint";
    hint.textContent = option.customer + " · " + option.status;
    li.append(hint);
    if (option.likely) {
      const badge = document.createElement("span");
      badge.className = "badge warn";
      badge.textContent = form.dataset.textLikely;
      const reasons = document.createElement("small");
      reasons.className = "hint";
      reasons.textContent = option.reasons.join(", ");
      li.append(" ", badge, " ", reasons);
    }
    return li;
  }

  async function refresh() {
    const request = ++latest;
    const url = form.dataset.optionsUrl + "?q=" + encodeURIComponent(input.value);
    const response = await fetch(url, { headers: { Accept: "application/json" } });
    if (!response.ok || request !== latest) return;
    const { options } = await response.json();
    list.replaceChildren(...options.map(item));
    if (!options.length) {
      const none = document.createElement("li");
      none.className = "hint";
      none.textContent = form.dataset.textNone;
      list.append(none);
    }
  }

  input.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(refresh, 200);
  });
})();

// Segment rule builder: edits the rules JSON in the form's textarea and shows a live
// count and sample from the preview endpoint. Without JavaScript the textarea and the
// "Preview" button do the same job.
(function () {
  "use strict";

  const root = document.getElementById("rule-builder");
  const textarea = document.getElementById("rules");
  if (!root || !textarea) return;

  const config = JSON.parse(root.dataset.config);
  const texts = JSON.parse(root.dataset.texts);
  const fields = new Map(config.fields.map((f) => [f.key, f]));
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const countEl = document.getElementById("segment-count");
  const sampleEl = document.getElementById("segment-sample");
  const errorEl = document.getElementById("rules-error");
  const hintEl = document.getElementById("segment-hint");
  const NO_VALUE = new Set(["is_empty", "is_not_empty", "is_set", "is_not_set", "is_true", "is_false", "never"]);

  let rules;
  try {
    rules = JSON.parse(textarea.value || "{}");
  } catch (_error) {
    return; // hand-written JSON that does not parse: leave the textarea to the user
  }
  if (typeof rules !== "object" || rules === null || Array.isArray(rules)) return;
  rules.match = rules.match === "any" ? "any" : "all";
  if (!Array.isArray(rules.groups)) rules.groups = [];

  function el(tag, attrs, children) {
    const node = document.createElement(tag);
    Object.entries(attrs || {}).forEach(([key, value]) => {
      if (key === "text") node.textContent = value;
      else node.setAttribute(key, value);
    });
    (children || []).forEach((child) => node.append(child));
    return node;
  }

  function select(options, value, label) {
    const node = el("select", { "aria-label": label });
    options.forEach(([optionValue, optionLabel]) => {
      const option = el("option", { value: optionValue, text: optionLabel });
      if (optionValue === value) option.selected = true;
      node.append(option);
    });
    return node;
  }

  function matchSelect(owner, textKey) {
    const [before, after] = texts[textKey].split("__CHOICE__");
    const choice = select([["all", texts.all], ["any", texts.any]], owner.match, texts[textKey]);
    choice.addEventListener("change", () => { owner.match = choice.value; changed(); });
    return el("div", { class: "rule-head" }, [before, choice, after]);
  }

  function defaultCondition() {
    const first = config.fields[0];
    return { field: first.key, op: first.ops[0], value: "" };
  }

  function valueInput(condition, field) {
    if (field.kind === "none" || NO_VALUE.has(condition.op)) return null;
    let input;
    if (field.kind === "status") {
      input = select(
        [["subscribed", "subscribed"], ["not_subscribed", "not_subscribed"], ["unsubscribed", "unsubscribed"]],
        condition.value || "subscribed", texts.value);
      condition.value = input.value;
    } else if (field.kind === "choice") {
      const multiple = condition.op === "in" || condition.op === "not_in";
      input = select(field.choices.map((c) => [c, c]), null, texts.value);
      if (multiple) {
        input.multiple = true;
        const chosen = Array.isArray(condition.value) ? condition.value : [];
        Array.from(input.options).forEach((o) => { o.selected = chosen.includes(o.value); });
        condition.value = Array.from(input.selectedOptions).map((o) => o.value);
      } else {
        if (typeof condition.value === "string" && field.choices.includes(condition.value)) input.value = condition.value;
        condition.value = input.value;
      }
    } else {
      const days = condition.op === "within_days" || field.kind === "days";
      const type = days || field.kind === "number" ? "number" : field.kind === "date" ? "date" : "text";
      input = el("input", { type: type, "aria-label": days ? texts.days : texts.value });
      input.value = Array.isArray(condition.value) ? "" : (condition.value ?? "");
    }
    input.addEventListener(input.tagName === "SELECT" ? "change" : "input", () => {
      condition.value = input.multiple
        ? Array.from(input.selectedOptions).map((o) => o.value)
        : input.value;
      changed();
    });
    return input;
  }

  function conditionRow(group, condition, index) {
    const field = fields.get(condition.field) || config.fields[0];
    if (!field.ops.includes(condition.op)) condition.op = field.ops[0];
    const fieldSelect = select(config.fields.map((f) => [f.key, f.label]), field.key, "field");
    fieldSelect.addEventListener("change", () => {
      const next = fields.get(fieldSelect.value);
      condition.field = next.key;
      condition.op = next.ops[0];
      condition.value = "";
      render();
    });
    const opSelect = select(field.ops.map((op) => [op, config.ops[op] || op]), condition.op, "op");
    opSelect.addEventListener("change", () => { condition.op = opSelect.value; render(); });
    const remove = el("button", { type: "button", class: "link", text: texts.remove });
    remove.addEventListener("click", () => { group.conditions.splice(index, 1); render(); });
    const parts = [fieldSelect, opSelect];
    const input = valueInput(condition, field);
    if (input) parts.push(input);
    if (condition.op === "within_days" || field.kind === "days") parts.push(texts.days);
    parts.push(remove);
    if (field.kind === "none" || NO_VALUE.has(condition.op)) delete condition.value;
    return el("div", { class: "rule-condition" }, parts);
  }

  function groupBox(group, index) {
    const box = el("div", { class: "rule-group" }, [matchSelect(group, "match_conditions")]);
    group.conditions.forEach((condition, i) => box.append(conditionRow(group, condition, i)));
    const add = el("button", { type: "button", text: texts.add_condition });
    add.addEventListener("click", () => { group.conditions.push(defaultCondition()); render(); });
    const remove = el("button", { type: "button", class: "link", text: texts.remove });
    remove.addEventListener("click", () => { rules.groups.splice(index, 1); render(); });
    box.append(el("div", { class: "actions" }, [add, remove]));
    return box;
  }

  function render() {
    root.replaceChildren(matchSelect(rules, "match_groups"));
    if (!rules.groups.length) root.append(el("p", { class: "hint", text: texts.everyone }));
    rules.groups.forEach((group, i) => {
      if (!Array.isArray(group.conditions)) group.conditions = [];
      group.match = group.match === "any" ? "any" : "all";
      root.append(groupBox(group, i));
    });
    const add = el("button", { type: "button", text: texts.add_group });
    add.addEventListener("click", () => {
      rules.groups.push({ match: "all", conditions: [defaultCondition()] });
      render();
    });
    root.append(add);
    changed();
  }

  let timer = null;
  let sequence = 0;
  function changed() {
    textarea.value = JSON.stringify(rules, null, 2);
    clearTimeout(timer);
    timer = setTimeout(refresh, 250);
  }

  async function refresh() {
    const mine = ++sequence;
    let response;
    try {
      response = await fetch(root.dataset.previewUrl, {
        method: "POST",
        headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
        body: JSON.stringify({ rules: rules }),
        credentials: "same-origin",
      });
    } catch (_error) {
      return;
    }
    const data = await response.json().catch(() => ({}));
    if (mine !== sequence) return; // an older answer arriving late
    if (hintEl) hintEl.hidden = true;
    if (!response.ok) {
      errorEl.textContent = data.error || response.statusText;
      errorEl.hidden = false;
      countEl.textContent = "—";
      sampleEl.replaceChildren();
      return;
    }
    errorEl.hidden = true;
    countEl.textContent = String(data.count);
    sampleEl.replaceChildren(...data.sample.map((c) =>
      el("li", {}, [el("a", { href: c.url, text: c.name || c.email }), " ", el("small", { class: "hint", text: c.email })])));
  }

  root.hidden = false;
  render();
})();

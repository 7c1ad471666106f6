// The review page: plain JavaScript, no framework, nothing loaded from elsewhere.
// Every text that comes from the plan (file names, explanations) is set with textContent,
// never parsed as HTML: names on a phone or in a folder are not to be trusted.
"use strict";

(function () {
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const state = {
    plan: null,
    groups: new Map(), // key -> group, in the plan's order
    selected: new Set(), // keys of ready groups
    over: false,
    alive: null,
  };
  let tileCount = 0;

  const byId = (id) => document.getElementById(id);

  function el(tag, attributes, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes || {})) {
      node.setAttribute(name, value);
    }
    for (const child of children) {
      if (child === null || child === undefined) continue;
      node.append(typeof child === "string" ? document.createTextNode(child) : child);
    }
    return node;
  }

  function plural(n, one, many) {
    return `${n} ${n === 1 ? one : many}`;
  }

  function bytes(n) {
    const units = ["bytes", "kB", "MB", "GB", "TB"];
    let value = n;
    let unit = 0;
    while (value >= 1000 && unit < units.length - 1) {
      value /= 1000;
      unit += 1;
    }
    return unit === 0 ? `${value} bytes` : `${value.toFixed(1)} ${units[unit]}`;
  }

  function day(iso) {
    if (!iso) return "date unknown";
    const date = new Date(`${iso}T12:00:00`);
    return date.toLocaleDateString(undefined, { year: "numeric", month: "short", day: "numeric" });
  }

  function say(text) {
    byId("status").textContent = text;
  }

  async function post(path, body) {
    const response = await fetch(path, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(Object.assign({ csrf: csrf }, body)),
      cache: "no-store",
      credentials: "same-origin",
    });
    let answer = {};
    try {
      answer = await response.json();
    } catch (error) {
      answer = {};
    }
    if (!response.ok) throw new Error(answer.error || `the review answered ${response.status}`);
    return answer;
  }

  // --- loading and laying out ---------------------------------------------------------------

  async function load() {
    let plan;
    try {
      const response = await fetch("api/plan", { cache: "no-store" });
      if (!response.ok) throw new Error(`the review answered ${response.status}`);
      plan = await response.json();
    } catch (error) {
      say(`The review could not be loaded (${error.message}). Run the command again.`);
      return;
    }
    state.plan = plan;
    for (const group of plan.groups) state.groups.set(group.key, group);
    const ready = plan.groups.filter((g) => g.ready).length;
    const waiting = plan.groups.length - ready;
    say(
      `${plural(plan.groups.length, "flagged photo", "flagged photos")}: ` +
        `${ready} can go now` +
        (waiting ? `, ${waiting} must be backed up or verified first.` : ".")
    );
    byId("word-shown").textContent = plan.word;
    const root = byId("categories");
    for (const category of plan.categories) root.append(section(category));
    update();
    state.alive = setInterval(alive, Math.max(1, plan.alive_every) * 1000);
  }

  function section(category) {
    const id = `category-${document.querySelectorAll("section.category").length + 1}`;
    const readyKeys = category.keys.filter((key) => state.groups.get(key).ready);
    const box = el("input", { type: "checkbox", "data-category": category.name });
    box.disabled = readyKeys.length === 0;
    box.addEventListener("change", () => {
      for (const key of readyKeys) choose(key, box.checked);
      update();
    });
    const what = readyKeys.length
      ? `Select the ${readyKeys.length} ready in this category`
      : "Nothing here is ready yet";
    const grid = el("ul", { class: "grid", "aria-labelledby": id });
    for (const key of category.keys) grid.append(tile(state.groups.get(key)));
    return el(
      "section",
      { class: "category", "aria-labelledby": id, "data-category": category.name },
      el("h2", { id: id }, category.title, " ", el("span", { class: "count" }, `(${category.keys.length})`)),
      category.about ? el("p", { class: "about" }, category.about) : null,
      el("label", { class: "select-category" }, box, what),
      grid
    );
  }

  function tile(group) {
    tileCount += 1;
    const n = tileCount;
    const image = el("img", { alt: "", decoding: "async" });
    const frame = el("div", { class: "frame" }, image);
    image.addEventListener("error", () => frame.classList.add("missing"), { once: true });
    image.src = `thumb/${encodeURIComponent(group.key)}`;
    if (group.blurred) {
      frame.classList.add("blurred");
      const reveal = el("button", { type: "button", class: "reveal" }, "Show");
      reveal.setAttribute("aria-label", `Show ${group.name} (blurred: it may show nudity)`);
      frame.append(reveal);
    }
    frame.addEventListener("click", () => {
      if (frame.classList.contains("blurred")) {
        reveal(group.key);
      } else if (group.ready) {
        choose(group.key, !state.selected.has(group.key));
        update();
      }
    });

    const box = el("input", { type: "checkbox", class: "pick", id: `pick-${n}`, "data-key": group.key });
    box.addEventListener("click", (event) => {
      if (!group.ready) event.preventDefault(); // greyed: the server would refuse it anyway
    });
    box.addEventListener("change", () => {
      choose(group.key, box.checked);
      update();
    });
    const facts = [day(group.day), bytes(group.size)];
    if (group.kind === "video") facts.unshift("video");
    if (group.files.length > 1) facts.push(plural(group.files.length, "file", "files"));
    if (group.albums.length) facts.push(`in ${group.albums.join(", ")}`);
    const described = [`meta-${n}`, `reasons-${n}`];
    const item = el(
      "li",
      { class: "tile", "data-key": group.key },
      frame,
      el("label", { class: "line", for: box.id }, box, el("span", { class: "name" }, group.name)),
      el("p", { class: "meta", id: `meta-${n}` }, facts.join(" · ")),
      el(
        "ul",
        { class: "reasons", id: `reasons-${n}` },
        ...group.reasons.map((reason) => el("li", {}, reason.explanation))
      )
    );
    if (!group.ready) {
      item.classList.add("not-ready");
      box.setAttribute("aria-disabled", "true");
      item.append(el("p", { class: "why", id: `why-${n}` }, `Not ready: ${group.why_not}`));
      described.push(`why-${n}`);
    }
    box.setAttribute("aria-describedby", described.join(" "));
    return item;
  }

  function reveal(key) {
    for (const item of document.querySelectorAll("li.tile")) {
      if (item.dataset.key !== key) continue;
      const frame = item.querySelector(".frame");
      frame.classList.remove("blurred");
      const button = frame.querySelector(".reveal");
      if (button) {
        const focused = document.activeElement === button;
        button.remove();
        if (focused) item.querySelector("input.pick").focus();
      }
    }
  }

  // --- selection ----------------------------------------------------------------------------

  function choose(key, on) {
    if (on && state.groups.get(key).ready) state.selected.add(key);
    else state.selected.delete(key);
  }

  function update() {
    for (const box of document.querySelectorAll("input.pick")) {
      const on = state.selected.has(box.dataset.key);
      box.checked = on;
      box.closest("li.tile").classList.toggle("selected", on);
    }
    for (const section of document.querySelectorAll("section.category")) {
      const box = section.querySelector("input[data-category]");
      const keys = [...section.querySelectorAll("li.tile")]
        .map((item) => item.dataset.key)
        .filter((key) => state.groups.get(key).ready);
      const chosen = keys.filter((key) => state.selected.has(key)).length;
      box.checked = keys.length > 0 && chosen === keys.length;
      box.indeterminate = chosen > 0 && chosen < keys.length;
    }
    const count = state.selected.size;
    const freed = [...state.selected].reduce((sum, key) => sum + state.groups.get(key).size, 0);
    byId("count").textContent = count
      ? `${plural(count, "photo", "photos")} selected · frees ${bytes(freed)}`
      : "Nothing selected";
    byId("review").disabled = count === 0;
  }

  // Arrow keys move between the photos of a grid (and on to the next or previous grid).
  function move(event) {
    const steps = { ArrowRight: 1, ArrowLeft: -1, ArrowDown: "down", ArrowUp: "up" };
    if (!(event.key in steps) || byId("confirm").open) return;
    const item = event.target.closest && event.target.closest("li.tile");
    if (!item) return;
    const grid = item.parentElement;
    const tiles = [...grid.children];
    const top = tiles[0].offsetTop;
    const columns = Math.max(1, tiles.filter((t) => t.offsetTop === top).length);
    let step = steps[event.key];
    if (step === "down") step = columns;
    if (step === "up") step = -columns;
    let target = tiles[tiles.indexOf(item) + step];
    if (!target) {
      // past the grid's edge: the first photo of the next grid, or the last of the previous one
      const all = [...document.querySelectorAll("li.tile")];
      target = step > 0 ? all[all.indexOf(tiles[tiles.length - 1]) + 1] : all[all.indexOf(tiles[0]) - 1];
    }
    if (!target) return;
    event.preventDefault();
    target.querySelector("input.pick").focus();
  }

  // --- confirming, cancelling, staying alive ---------------------------------------------------

  function openConfirm() {
    const list = byId("confirm-list");
    list.replaceChildren();
    let freed = 0;
    for (const group of state.groups.values()) {
      if (!state.selected.has(group.key)) continue;
      freed += group.size;
      const files = group.files.length > 1 ? `, ${plural(group.files.length, "file", "files")}` : "";
      list.append(
        el(
          "li",
          {},
          el("strong", {}, group.name),
          ` (${day(group.day)}, ${bytes(group.size)}${files}): ${group.what_happens}`
        )
      );
    }
    byId("confirm-total").textContent =
      `${plural(state.selected.size, "photo", "photos")}, ${bytes(freed)} freed.`;
    byId("word").value = "";
    byId("confirm-error").textContent = "";
    byId("do-confirm").disabled = true;
    byId("confirm").showModal();
    byId("word").focus();
  }

  async function confirm(event) {
    event.preventDefault();
    const word = byId("word").value.trim();
    if (word !== state.plan.word) return;
    byId("do-confirm").disabled = true;
    try {
      const answer = await post("api/confirm", { keys: [...state.selected], word: word });
      byId("confirm").close();
      finish(`Confirmed: ${plural(answer.chosen, "photo", "photos")} will be handled as listed.`);
    } catch (error) {
      byId("confirm-error").textContent = error.message;
      byId("do-confirm").disabled = false;
    }
  }

  async function cancel() {
    try {
      await post("api/cancel", {});
      finish("Cancelled: nothing will be removed.");
    } catch (error) {
      say(`The review could not be cancelled (${error.message}).`);
    }
  }

  function finish(text) {
    state.over = true;
    clearInterval(state.alive);
    for (const id of ["main", "bar"]) byId(id).hidden = true;
    for (const part of document.querySelectorAll(".top > :not(h1)")) part.hidden = true;
    byId("done-text").textContent = text;
    byId("done").hidden = false;
    byId("done").focus();
  }

  async function alive() {
    if (state.over) return;
    try {
      const response = await fetch("api/alive", { cache: "no-store" });
      if (!response.ok) throw new Error(String(response.status));
    } catch (error) {
      clearInterval(state.alive);
      say("The review no longer answers (it may have waited too long). Run the command again.");
    }
  }

  document.addEventListener("DOMContentLoaded", () => {
    byId("select-all").addEventListener("click", () => {
      for (const group of state.groups.values()) choose(group.key, true);
      update();
    });
    byId("select-none").addEventListener("click", () => {
      state.selected.clear();
      update();
    });
    byId("cancel").addEventListener("click", cancel);
    byId("review").addEventListener("click", openConfirm);
    byId("back").addEventListener("click", () => byId("confirm").close());
    byId("word").addEventListener("input", () => {
      byId("do-confirm").disabled = byId("word").value.trim() !== state.plan.word;
    });
    byId("confirm-form").addEventListener("submit", confirm);
    document.addEventListener("keydown", move);
    load();
  });
})();

// Progressive enhancement only: every page works without this file.
// Copy buttons: <button class="copy" data-copy="INPUT-ID"> copies that input's value.
"use strict";
document.addEventListener("click", (event) => {
  const button = event.target.closest("button.copy");
  if (!button) return;
  const field = document.getElementById(button.dataset.copy);
  if (!field) return;
  const done = () => {
    const label = button.textContent;
    button.textContent = "Copied";
    setTimeout(() => { button.textContent = label; }, 1500);
  };
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(field.value).then(done, () => { field.select(); });
  } else {
    field.select();
    try { if (document.execCommand("copy")) done(); } catch (_) { /* selected: the user copies */ }
  }
});

// Collapsed files of a large diff: "Show this file's diff" loads that file's diff into
// the page (the link's own page, parsed; our HTML, from this origin) instead of leaving it.
document.addEventListener("click", async (event) => {
  const link = event.target.closest("a.lazy-diff");
  if (!link || event.ctrlKey || event.metaKey || event.shiftKey) return;
  event.preventDefault();
  const notice = link.closest("p");
  link.textContent = "Loading…";
  try {
    const response = await fetch(link.href, { credentials: "same-origin" });
    if (!response.ok) throw new Error(String(response.status));
    const page = new DOMParser().parseFromString(await response.text(), "text/html");
    const body = page.querySelector("details.file-diff .code-wrap, details.file-diff p");
    if (!body) throw new Error("no diff in the page");
    notice.replaceWith(document.adoptNode(body));
  } catch (_) {
    window.location.assign(link.href);  // the page of that file's diff, without script
  }
});

// A pull request's line "+": the page's one comment form (<template id="line-comment">),
// copied into a row under that line, instead of following the link (which renders the
// page with that form open: what happens without this file).
document.addEventListener("click", (event) => {
  const link = event.target.closest("a.add-line");
  const template = document.getElementById("line-comment");
  if (!link || !template || event.ctrlKey || event.metaKey || event.shiftKey) return;
  const spec = new URL(link.href).searchParams.get("comment") || "";
  const [side, line, ...rest] = spec.split(":");
  const path = rest.join(":");
  if (!path) return;
  event.preventDefault();
  const row = link.closest("tr");
  const key = `${side}:${line}:${path}`;
  const open = Array.from(row.parentElement.querySelectorAll("form[data-line]"))
    .find((form) => form.dataset.line === key);
  if (open) { open.querySelector("textarea").focus(); return; }

  const form = template.content.querySelector("form").cloneNode(true);
  form.dataset.line = key;
  form.elements.path.value = path;
  form.elements.side.value = side;
  form.elements.line.value = line;
  const area = form.querySelector("textarea");
  const label = form.querySelector("label");
  area.id = `new-comment-${side}-${line}-${Math.random().toString(36).slice(2, 8)}`;
  label.htmlFor = area.id;
  label.textContent = `Comment on ${path} line ${line}${side === "BEFORE" ? " (before)" : ""}`;

  // A row shaped like the line's: gutters stay gutters, the form goes on the link's side.
  const holder = document.createElement("tr");
  holder.className = "inline";
  for (const cell of row.cells) {
    const td = document.createElement("td");
    td.className = cell.classList.contains("ln") ? "ln" : "inline-cell";
    if (cell === link.closest("td")) td.append(form);
    holder.append(td);
  }
  const cancel = document.createElement("button");
  cancel.type = "button";
  cancel.textContent = "Cancel";
  cancel.addEventListener("click", () => { holder.remove(); link.focus(); });
  form.append(cancel);
  // Under the line and the threads already on it.
  let after = row;
  while (after.nextElementSibling && after.nextElementSibling.classList.contains("inline")) {
    after = after.nextElementSibling;
  }
  after.after(holder);
  area.focus();
});

// A running action's log: an EventSource on the route that tails it appends each line
// as it is written (without this file the page shows the log so far and a reload link).
(() => {
  const log = document.querySelector("pre.log[data-events]");
  if (!log || !window.EventSource) return;
  const live = document.getElementById("log-live");
  const source = new EventSource(log.dataset.events);
  const follow = () => log.scrollHeight - log.scrollTop - log.clientHeight < 40;
  source.onmessage = (event) => {
    const atEnd = follow();
    log.append(document.createTextNode(event.data + "\n"));
    if (atEnd) log.scrollTop = log.scrollHeight;
  };
  source.addEventListener("end", () => {
    source.close();
    if (live) live.textContent = "The action has ended. Reload for its final state.";
  });
  source.onerror = () => {
    if (source.readyState === EventSource.CLOSED && live) live.textContent = "The log stream stopped: reload the page.";
  };
})();

// A pipeline or execution page with actions in progress: its graph is read again every
// few seconds (the page's own HTML, this origin) until nothing runs; a form being filled
// in is never replaced.
(() => {
  const graph = () => document.querySelector("ol.pipeline-graph[data-live]");
  if (!graph()) return;
  const tick = async () => {
    const current = graph();
    if (!current) return;
    if (current.contains(document.activeElement) && document.activeElement.matches("textarea, input")) {
      setTimeout(tick, 3000);
      return;
    }
    try {
      const response = await fetch(window.location.href, { credentials: "same-origin" });
      if (!response.ok) return;
      const page = new DOMParser().parseFromString(await response.text(), "text/html");
      const fresh = page.querySelector("ol.pipeline-graph");
      if (!fresh) return;
      current.replaceWith(document.adoptNode(fresh));
      if (fresh.dataset.live) setTimeout(tick, 3000);
    } catch (_) { /* offline: the reload link still works */ }
  };
  setTimeout(tick, 3000);
})();

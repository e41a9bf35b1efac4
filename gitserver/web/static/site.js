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

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

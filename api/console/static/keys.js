// The console's keys, and its wait times counting up. On the queue, j/k move through the
// drafts; on a draft, the review keys. Never while typing in a field: Esc leaves it first.
(function () {
  "use strict";
  const typing = (el) => el && (el.tagName === "TEXTAREA" || el.tagName === "INPUT" || el.isContentEditable);
  const editor = document.getElementById("text");
  // Rows are replaced live (SSE): read them at each key press.
  const rows = () => Array.from(document.querySelectorAll("a.open-draft"));
  const move = (step) => {
    const all = rows();
    const at = all.indexOf(document.activeElement);
    const to = at < 0 ? 0 : Math.min(Math.max(at + step, 0), all.length - 1);
    all[to].focus();
  };
  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (event.key === "Escape" && typing(document.activeElement)) {
      document.activeElement.blur();
      return;
    }
    if (typing(document.activeElement)) return;
    const key = event.key;
    if (rows().length && (key === "j" || key === "k")) {
      move(key === "j" ? 1 : -1);
    } else if (key === "?") {
      document.getElementById("keys")?.showModal();
    } else if (key === "a") {
      document.getElementById("approve")?.requestSubmit();
    } else if (key === "e" || key === "r") {
      const field = document.querySelector(`[data-key="${key}"]`);
      if (field) { field.focus(); if (key === "e") field.setSelectionRange(field.value.length, field.value.length); }
    } else if (key === "j") {
      const next = document.querySelector('a[data-key="j"]');
      window.location.href = next ? next.href : "/console";
    } else if (key === "k") {
      window.location.href = "/console";
    } else if (/^[1-5]$/.test(key)) {
      const choice = document.querySelectorAll('input[name="variant"]')[Number(key) - 1];
      if (choice && editor) { choice.checked = true; editor.value = choice.dataset.text; }
    } else {
      return;
    }
    event.preventDefault();
  });
  // A selection for bulk approval survives the rows being replaced live.
  const selected = new Set();
  document.addEventListener("change", (event) => {
    const box = event.target;
    if (box.name !== "ids") return;
    if (box.checked) selected.add(box.value); else selected.delete(box.value);
  });
  document.body.addEventListener("htmx:afterSwap", () => {
    for (const box of document.querySelectorAll('input[name="ids"]')) box.checked = selected.has(box.value);
  });
  // A wait shown at render time keeps counting up while the page is open, written as the
  // server writes it (pages.waited), and turns red when the response target passes.
  const waited = (seconds) => {
    const minutes = Math.floor(seconds / 60);
    if (minutes < 60) return `${minutes} min`;
    if (minutes < 24 * 60) return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
    return `${Math.floor(minutes / (24 * 60))} d ${Math.floor(minutes / 60) % 24} h`;
  };
  const tick = () => {
    const now = Date.now();
    for (const wait of document.querySelectorAll(".wait[data-waiting-s]")) {
      wait.dataset.since ??= String(now);
      const open = (now - Number(wait.dataset.since)) / 1000;
      wait.textContent = waited(Number(wait.dataset.waitingS) + open);
      if (wait.dataset.overdueInS !== undefined && open >= Number(wait.dataset.overdueInS)) {
        wait.parentElement.classList.add("overdue");
        const mark = wait.parentElement.querySelector(".overdue-mark");
        if (mark) mark.hidden = false;
      }
    }
  };
  tick();
  setInterval(tick, 1000);
  // A page's event stream says its session ended (signed out elsewhere, or run out): show
  // the sign-in page, not a page that has stopped changing.
  document.body.addEventListener("htmx:sseOpen", (event) => {
    event.detail.source.addEventListener("signed-out", () => window.location.assign("/console/sign-in"));
  });
  // Keys pressed before this line would go nowhere: say the page is ready for them.
  document.documentElement.dataset.keys = "ready";
})();

// Velvet's pages: the message list and a chat with its composer.
//
// Times are printed in the platform's zone without an offset ("2026-12-01 21:05:33.123"
// in a title, "5m ago" or "21:05" on screen), money only as text, and nothing is marked
// loaded: a list is either filled or shows its empty state.
"use strict";

(() => {
  const card = document.querySelector("[data-zone]");
  if (!card) return;
  const zone = card.dataset.zone;
  const stampFormat = new Intl.DateTimeFormat("en-CA", {
    timeZone: zone, year: "numeric", month: "2-digit", day: "2-digit",
    hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23",
  });
  const clockFormat = new Intl.DateTimeFormat("en-GB", {
    timeZone: zone, hour: "2-digit", minute: "2-digit", hourCycle: "h23",
  });
  const dayFormat = new Intl.DateTimeFormat("en-US", { timeZone: zone, month: "short", day: "numeric" });

  function when(iso) {
    // Keep milliseconds only: the stored microseconds are not a browser's to parse.
    return new Date(iso.replace(/(\.\d{3})\d+/, "$1"));
  }

  function parts(date) {
    const out = {};
    for (const part of stampFormat.formatToParts(date)) out[part.type] = part.value;
    return out;
  }

  // "2026-12-01 21:05:33.123": local to the platform, with no offset.
  function stamp(date) {
    const p = parts(date);
    const ms = String(date.getUTCMilliseconds()).padStart(3, "0");
    return `${p.year}-${p.month}-${p.day} ${p.hour}:${p.minute}:${p.second}.${ms}`;
  }

  function localDay(date) {
    const p = parts(date);
    return `${p.year}-${p.month}-${p.day}`;
  }

  function relative(date) {
    const now = new Date();
    const seconds = (now - date) / 1000;
    if (seconds < 60) return "just now";
    if (seconds < 3600) return Math.floor(seconds / 60) + "m ago";
    if (localDay(date) === localDay(now)) return Math.floor(seconds / 3600) + "h ago";
    if (localDay(date) === localDay(new Date(now - 86400000))) return "Yesterday " + clockFormat.format(date);
    return dayFormat.format(date);
  }

  function money(cents) {
    const dollars = Math.floor(cents / 100).toLocaleString("en-US");
    return "$" + dollars + "." + String(cents % 100).padStart(2, "0");
  }

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function toSignIn() {
    window.location.assign("/signin?next=" + encodeURIComponent(window.location.pathname));
  }

  async function call(url, options) {
    const response = await fetch(url, { headers: { Accept: "application/json" }, ...options });
    if (response.status === 401) {
      toSignIn();
      throw Object.assign(new Error("signed out"), { status: 401 });
    }
    return response;
  }

  const slow = card.querySelector(".vv-toast--slow");
  const alertBox = card.querySelector(".vv-alert");

  function fail(response, message) {
    if (response && response.status === 429) {
      slow.hidden = false;
    } else {
      alertBox.textContent = message;
      alertBox.hidden = false;
    }
  }

  // ---- The message list -------------------------------------------------------------
  function inbox() {
    const list = card.querySelector(".vv-threads");
    const empty = card.querySelector(".vv-empty");
    const older = card.querySelector(".vv-older");
    let cursor = null;

    function row(c) {
      const link = el("a", "vv-thread" + (c.unread ? " is-unread" : ""));
      link.setAttribute("role", "listitem");
      link.href = "/messages/" + encodeURIComponent(c.id);
      const date = when(c.last_at);
      const time = el("time", "", relative(date));
      time.title = stamp(date);
      link.append(el("b", "vv-name", c.fan_name), time, el("span", "vv-handle", "@" + c.fan_id));
      const snippet = el("span", "vv-snippet", c.preview);
      link.append(snippet);
      if (c.unread) link.append(el("i", "vv-count", c.unread + " new"));
      return link;
    }

    async function more() {
      older.disabled = true;
      try {
        const response = await call("/api/conversations" + (cursor ? "?cursor=" + encodeURIComponent(cursor) : ""));
        if (!response.ok) return fail(response, "Messages could not be loaded.");
        const page = await response.json();
        list.append(...page.conversations.map(row));
        cursor = page.next_cursor;
        older.hidden = !cursor;
        empty.hidden = list.children.length > 0;
        slow.hidden = true;
      } catch (error) {
        if (error.status !== 401) fail(null, "Messages could not be loaded.");
      } finally {
        older.disabled = false;
      }
    }

    older.addEventListener("click", more);
    more();
  }

  // ---- A chat ---------------------------------------------------------------------------
  function chat() {
    const log = card.querySelector(".vv-log");
    const nothing = card.querySelector(".vv-nothing");
    const form = card.querySelector(".vv-compose");
    const body = form.querySelector("textarea");
    const priceToggle = form.querySelector(".vv-price-toggle");
    const price = form.querySelector(".vv-price");
    const vault = form.querySelector(".vv-vault");
    const vaultItems = form.querySelector(".vv-vault-items");
    const attached = form.querySelector(".vv-attached");
    const sendButton = form.querySelector(".vv-send");
    const url = "/api/conversations/" + encodeURIComponent(card.dataset.chat) + "/messages";
    const cadence = recordCadence(body);
    let media = [];
    let sending = false;

    function bubble(m) {
      const item = el("div", "vv-msg " + (m.direction === "in" ? "vv-msg--in" : "vv-msg--out"));
      item.id = "m-" + m.id;
      if (m.tip_cents > 0) item.append(el("div", "vv-tip", "Tipped " + money(m.tip_cents)));
      if (m.ppv_price_cents !== null) {
        const label = m.ppv_paid ? "Unlocked · " + money(m.ppv_price_cents) : "Unlock for " + money(m.ppv_price_cents);
        item.append(el("div", "vv-lock" + (m.ppv_paid ? " is-open" : ""), label));
      }
      if (m.media && m.media.length) item.append(el("div", "vv-media", m.media.length + " attached"));
      item.append(el("p", "vv-body", m.text));
      const date = when(m.sent_at);
      const time = el("span", "vv-when", clockFormat.format(date));
      time.title = stamp(date);
      item.append(time);
      return item;
    }

    function resetComposer() {
      body.value = "";
      price.value = "";
      price.hidden = true;
      media = [];
      attached.replaceChildren();
      cadence.reset();
    }

    priceToggle.addEventListener("click", () => {
      price.hidden = false;
      price.focus();
    });

    form.querySelector(".vv-vault-open").addEventListener("click", async () => {
      const response = await call("/api/vault");
      if (!response.ok) return fail(response, "The vault could not be opened.");
      const items = (await response.json()).items;
      vaultItems.replaceChildren(...items.map((item) => {
        const li = el("li");
        const pick = el("button", "vv-btn vv-vault-item", item.title);
        pick.type = "button";
        pick.dataset.vaultId = item.id;
        pick.addEventListener("click", () => {
          if (!media.includes(item.id)) {
            media.push(item.id);
            attached.append(el("li", "", item.title));
          }
        });
        li.append(pick);
        return li;
      }));
      vault.hidden = false;
    });
    form.querySelector(".vv-vault-done").addEventListener("click", () => { vault.hidden = true; });

    body.addEventListener("keydown", (event) => {
      const modified = event.shiftKey || event.ctrlKey || event.altKey || event.metaKey;
      if (event.key === "Enter" && !modified && !event.isComposing) {
        event.preventDefault();
        send();
      }
    });
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      send();
    });

    async function send() {
      const text = body.value;
      if (sending || !text.trim()) return;
      let cents = null;
      if (!price.hidden && price.value.trim()) {
        const match = /^\$?(\d{1,6})(?:\.(\d{1,2}))?$/.exec(price.value.trim());
        if (!match) return fail(null, "That price doesn't look right.");
        cents = Number(match[1]) * 100 + Number((match[2] || "0").padEnd(2, "0"));
      }
      sending = true;
      sendButton.disabled = true;
      try {
        const response = await call(url, {
          method: "POST",
          headers: { "Content-Type": "application/json", Accept: "application/json" },
          body: JSON.stringify({ text, ppv_price_cents: cents, media, cadence: cadence.events() }),
        });
        if (!response.ok) return fail(response, "Not sent.");
        log.append(bubble(await response.json()));
        nothing.hidden = true;
        slow.hidden = true;
        alertBox.hidden = true;
        resetComposer();
        log.scrollTop = log.scrollHeight;
      } catch (error) {
        if (error.status !== 401) fail(null, "Not sent. Check your connection.");
      } finally {
        sending = false;
        sendButton.disabled = false;
      }
    }

    (async () => {
      try {
        const response = await call(url);
        if (!response.ok) return fail(response, "This chat could not be loaded.");
        const messages = (await response.json()).messages;
        log.replaceChildren(...messages.map(bubble));
        nothing.hidden = messages.length > 0;
        log.scrollTop = log.scrollHeight;
      } catch (error) {
        if (error.status !== 401) fail(null, "This chat could not be loaded.");
      }
    })();
  }

  if (card.classList.contains("vv-inbox")) inbox();
  else chat();
})();

// A conversation: shows the thread and runs the composer.
//
// The composer sends its typing record (cadence.js) with the message. Enter sends;
// Shift+Enter inserts a line break.
"use strict";

(() => {
  const thread = document.querySelector("[data-testid=thread]");
  const threadError = document.querySelector("[data-testid=thread-error]");
  const slowDown = document.querySelector("[data-testid=slow-down]");
  const sendError = document.querySelector("[data-testid=send-error]");
  const form = document.getElementById("composer-form");
  const composer = document.getElementById("composer");
  const price = document.getElementById("ppv-price");
  const sendButton = document.getElementById("send-button");
  const vault = document.querySelector("[data-testid=vault]");
  const vaultItems = document.querySelector("[data-testid=vault-items]");
  const attached = document.querySelector("[data-testid=attached]");
  let media = [];
  const url = "/api/conversations/" + encodeURIComponent(thread.dataset.conversationId) + "/messages";
  const cadence = recordCadence(composer);
  let sending = false;

  composer.addEventListener("keydown", (event) => {
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

  function renderMessage(message) {
    const item = sbx.element("li", "message " + (message.direction === "in" ? "incoming" : "outgoing"));
    item.dataset.testid = "message";
    item.dataset.messageId = message.id;
    item.dataset.direction = message.direction;
    item.dataset.sentAt = message.sent_at;
    item.dataset.tipCents = String(message.tip_cents);
    const isPpv = message.ppv_price_cents !== null;
    item.dataset.ppvPriceCents = isPpv ? String(message.ppv_price_cents) : "";
    item.dataset.ppvPaid = isPpv ? String(Boolean(message.ppv_paid)) : "";

    const bubble = sbx.element("div", "bubble");
    if (message.tip_cents > 0) {
      bubble.append(sbx.element("div", "tip", "Tipped " + sbx.formatCents(message.tip_cents)));
    }
    if (isPpv) {
      const state = message.ppv_paid ? "Purchased" : "Not purchased yet";
      const label = "Locked · " + sbx.formatCents(message.ppv_price_cents) + " · " + state;
      bubble.append(sbx.element("div", "ppv" + (message.ppv_paid ? " paid" : ""), label));
    }
    const text = sbx.element("div", "message-text", message.text);
    text.dataset.testid = "message-text";
    bubble.append(text);
    const time = sbx.element("time", "message-time", sbx.shortTime(message.sent_at));
    time.dateTime = message.sent_at;
    bubble.append(time);
    item.append(bubble);
    return item;
  }

  function scrollToEnd() {
    thread.scrollTop = thread.scrollHeight;
  }

  function showSendError(message) {
    sendError.textContent = message;
    sendError.hidden = false;
  }

  // Dollars as typed ("12.5", "$12.50") to cents; blank means a free message.
  function parsePrice(raw) {
    const value = raw.trim();
    if (!value) return { cents: null };
    const match = /^\$?(\d{1,6})(?:\.(\d{1,2}))?$/.exec(value);
    if (!match) return { error: "Enter the PPV price in dollars, like 12.50." };
    return { cents: Number(match[1]) * 100 + Number((match[2] || "0").padEnd(2, "0")) };
  }

  async function send() {
    const text = composer.value;
    if (sending || !text.trim()) return;
    const ppv = parsePrice(price.value);
    if (ppv.error) {
      showSendError(ppv.error);
      return;
    }
    sending = true;
    sendButton.disabled = true;
    try {
      const response = await fetch(url, {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "application/json" },
        body: JSON.stringify({ text, ppv_price_cents: ppv.cents, media, cadence: cadence.events() }),
      });
      if (response.status === 401) {
        sbx.toLogin();
        return;
      }
      if (response.status === 429) {
        // Keep the text and its typing record so the creator can simply send again.
        slowDown.hidden = false;
        return;
      }
      if (!response.ok) {
        showSendError(await sbx.errorMessage(response));
        return;
      }
      const message = await response.json();
      thread.append(renderMessage(message));
      composer.value = "";
      price.value = "";
      cadence.reset();
      media = [];
      attached.hidden = true;
      slowDown.hidden = true;
      sendError.hidden = true;
      scrollToEnd();
      // Last, so a driver waiting on this attribute finds the message and a clear composer.
      thread.dataset.lastSentId = message.id;
    } catch (_) {
      showSendError("Could not send. Check your connection and try again.");
    } finally {
      sending = false;
      sendButton.disabled = false;
    }
  }

  function showAttached() {
    attached.textContent = media.length + " attached";
    attached.hidden = media.length === 0;
  }

  document.getElementById("vault-button").addEventListener("click", async () => {
    try {
      const items = (await sbx.getJson("/api/vault")).items;
      vaultItems.replaceChildren(...items.map((item) => {
        const li = sbx.element("li");
        const pick = sbx.element("button", "btn vault-item", item.title);
        pick.type = "button";
        pick.dataset.testid = "vault-item";
        pick.dataset.vaultId = item.id;
        pick.addEventListener("click", () => {
          if (!media.includes(item.id)) media.push(item.id);
          showAttached();
        });
        li.append(pick);
        return li;
      }));
      vault.hidden = false;
    } catch (error) {
      if (error.status !== 401) showSendError("Could not open the vault. " + error.message);
    }
  });
  document.getElementById("vault-done").addEventListener("click", () => { vault.hidden = true; });

  async function loadThread() {
    try {
      const data = await sbx.getJson(url);
      thread.replaceChildren(...data.messages.map(renderMessage));
      thread.dataset.loaded = "true";
      scrollToEnd();
    } catch (error) {
      if (error.status === 429) {
        // Too many requests: the same banner a refused send shows.
        slowDown.hidden = false;
      } else if (error.status !== 401) {
        threadError.textContent = "Could not load this conversation. " + error.message;
        threadError.hidden = false;
      }
    }
  }

  loadThread();
})();

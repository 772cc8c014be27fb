// The inbox: lists conversations newest first, a page at a time.
"use strict";

(() => {
  const list = document.querySelector("[data-testid=inbox-list]");
  const loadMore = document.querySelector("[data-testid=load-more]");
  const empty = document.querySelector("[data-testid=inbox-empty]");
  const errorBox = document.querySelector("[data-testid=inbox-error]");
  const slowDown = document.querySelector("[data-testid=slow-down]");
  let cursor = null;
  let loading = false;

  function row(conversation) {
    const item = sbx.element("li", "conversation" + (conversation.unread ? " unread" : ""));
    item.dataset.testid = "conversation";
    item.dataset.conversationId = conversation.id;
    item.dataset.fanId = conversation.fan_id;
    item.dataset.lastAt = conversation.last_at;
    item.dataset.unread = String(conversation.unread);

    const link = sbx.element("a", "conversation-link");
    link.href = "/chat/" + encodeURIComponent(conversation.id);
    const avatar = sbx.element("span", "avatar", sbx.initials(conversation.fan_name));
    avatar.setAttribute("aria-hidden", "true");

    const body = sbx.element("div", "conversation-body");
    const top = sbx.element("div", "conversation-top");
    const name = sbx.element("span", "fan-name", conversation.fan_name);
    name.dataset.testid = "fan-name";
    const handle = sbx.element("span", "fan-handle muted small", "@" + conversation.fan_id);
    handle.dataset.testid = "fan-handle";
    const time = sbx.element("time", "muted small", sbx.shortTime(conversation.last_at));
    time.dateTime = conversation.last_at;
    top.append(name, handle, time);

    const bottom = sbx.element("div", "conversation-bottom");
    const preview = sbx.element("span", "preview", conversation.preview);
    preview.dataset.testid = "preview";
    bottom.append(preview);
    if (conversation.unread) {
      const badge = sbx.element("span", "badge", String(conversation.unread));
      badge.setAttribute("aria-label", conversation.unread + " unread");
      bottom.append(badge);
    }
    body.append(top, bottom);
    link.append(avatar, body);
    item.append(link);
    return item;
  }

  async function loadPage() {
    if (loading) return;
    loading = true;
    loadMore.disabled = true;
    try {
      const query = cursor ? "?cursor=" + encodeURIComponent(cursor) : "";
      const page = await sbx.getJson("/api/conversations" + query);
      list.append(...page.conversations.map(row));
      cursor = page.next_cursor;
      loadMore.hidden = !cursor;
      empty.hidden = list.children.length > 0;
      errorBox.hidden = true;
      slowDown.hidden = true;
      list.dataset.loaded = "true";
    } catch (error) {
      if (error.status === 429) {
        slowDown.hidden = false;
      } else if (error.status !== 401) {
        errorBox.textContent = "Could not load your messages. " + error.message;
        errorBox.hidden = false;
      }
    } finally {
      loading = false;
      loadMore.disabled = false;
    }
  }

  loadMore.addEventListener("click", loadPage);
  loadPage();
})();

// Helpers shared by the inbox and chat pages.
"use strict";

const sbx = (() => {
  const timeFormat = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit" });
  const dayFormat = new Intl.DateTimeFormat(undefined, { month: "short", day: "numeric" });

  class ApiError extends Error {
    constructor(status, message) {
      super(message);
      this.status = status;
    }
  }

  // A logged-out API call means the session ended: go log in, then come back here.
  function toLogin() {
    const next = window.location.pathname + window.location.search;
    window.location.assign("/login?next=" + encodeURIComponent(next));
  }

  async function errorMessage(response) {
    try {
      const body = await response.json();
      if (typeof body.detail === "string") return body.detail;
      if (Array.isArray(body.detail) && body.detail.length) return body.detail[0].msg;
    } catch (_) {
      // Not JSON: fall through to the status line.
    }
    return "Something went wrong (" + response.status + ").";
  }

  async function getJson(url) {
    const response = await fetch(url, { headers: { Accept: "application/json" } });
    if (response.status === 401) {
      toLogin();
      throw new ApiError(401, "Not logged in");
    }
    if (!response.ok) throw new ApiError(response.status, await errorMessage(response));
    return response.json();
  }

  function element(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function initials(name) {
    const letters = name.split(/\s+/).filter(Boolean).slice(0, 2).map((word) => word[0]);
    return letters.join("").toUpperCase() || "?";
  }

  function formatCents(cents) {
    return "$" + Math.floor(cents / 100) + "." + String(cents % 100).padStart(2, "0");
  }

  function shortTime(iso) {
    const when = new Date(iso);
    const today = new Date();
    const sameDay = when.toDateString() === today.toDateString();
    return sameDay ? timeFormat.format(when) : dayFormat.format(when);
  }

  return { toLogin, errorMessage, getJson, element, initials, formatCents, shortTime };
})();

// Live progress for the gallery and the video page.
//
// Every element with data-video-id and data-active="true" is followed: the status endpoint is
// asked about all of them every POLL_MS, and polling stops as soon as none is active (or the
// tab is hidden; it resumes when the tab is shown again). Without this script the pages still
// show the state they were rendered with.
(() => {
  "use strict";
  const POLL_MS = 2000;
  const MAX_BACKOFF_MS = 30000;
  const QUEUED = new Set(["pending", "submitted"]);
  const BADGES = ["queued", "generating", "saving", "ready", "failed", "expired"];
  const root = document.querySelector("[data-live]");
  if (!root) return;
  const mode = root.dataset.live; // "cards": replace a card when its state changes; "reload": reload the page
  const statusUrl = root.dataset.statusUrl;
  const announcer = document.getElementById("live-announcer");
  let timer = null;
  let inFlight = false;
  let failures = 0;
  let signedOut = false;

  const followed = () => {
    const all = Array.from(root.querySelectorAll("[data-video-id]"));
    if (root.matches("[data-video-id]")) all.unshift(root);
    return all.filter((el) => el.dataset.active === "true");
  };

  const announce = (text) => {
    if (announcer) announcer.textContent = text;
  };

  const schedule = (delay) => {
    clearTimeout(timer);
    timer = null;
    if (signedOut || inFlight || document.hidden || followed().length === 0) return;
    timer = setTimeout(poll, delay);
  };

  const showProgress = (el, video) => {
    const bar = el.querySelector("progress");
    const percent = el.querySelector('[data-role="percent"]');
    const queued = QUEUED.has(video.state);
    if (bar) {
      if (queued) bar.removeAttribute("value");
      else bar.value = video.progress;
    }
    if (percent) percent.textContent = queued ? "queued" : `${video.progress}%`;
    const badge = el.querySelector('[data-role="badge"]');
    if (badge) {
      badge.textContent = video.label;
      badge.classList.remove(...BADGES);
      badge.classList.add(video.badge);
    }
  };

  const replaceCard = (el, video) => {
    const holder = document.createElement("div");
    holder.innerHTML = video.card.trim();
    const fresh = holder.firstElementChild;
    if (!fresh) return;
    const hadFocus = el.contains(document.activeElement);
    el.replaceWith(fresh);
    if (hadFocus) fresh.querySelector(".card-title a")?.focus();
  };

  // The caller's videos among `items`, by id; null when logged out. Throws on other failures.
  const fetchStatus = async (items) => {
    const ids = items.map((el) => encodeURIComponent(el.dataset.videoId)).join(",");
    const response = await fetch(`${statusUrl}?ids=${ids}${mode === "cards" ? "&cards=1" : ""}`, {
      headers: { Accept: "application/json" },
      credentials: "same-origin",
      cache: "no-store",
    });
    if (response.status === 401) return null;
    if (!response.ok) throw new Error(`status ${response.status}`);
    return (await response.json()).videos;
  };

  const apply = (items, videos) => {
    for (const el of items) {
      const video = videos[el.dataset.videoId];
      if (!video) {
        el.dataset.active = "false"; // deleted meanwhile (in another tab, or through the API)
        continue;
      }
      if (video.state !== el.dataset.state) {
        if (!video.active) announce(`${video.label}: ${el.dataset.title || "a video"}`);
        if (mode === "reload") {
          window.location.reload();
          return false;
        }
        if (video.card) {
          replaceCard(el, video);
          continue;
        }
        el.dataset.state = video.state;
        el.dataset.active = String(video.active);
      }
      showProgress(el, video);
    }
    return true;
  };

  async function poll() {
    timer = null;
    const items = followed();
    if (items.length === 0) return;
    let delay = POLL_MS;
    inFlight = true;
    try {
      const videos = await fetchStatus(items);
      failures = 0;
      if (videos === null) {
        signedOut = true;
        announce("You are logged out; progress is no longer followed.");
      } else if (!apply(items, videos)) {
        return;
      }
    } catch (error) {
      failures += 1; // the server restarting or the network dropping: try again later, less often
      delay = Math.min(MAX_BACKOFF_MS, POLL_MS * 2 ** failures);
    } finally {
      inFlight = false;
    }
    schedule(delay);
  }

  document.addEventListener("visibilitychange", () => {
    if (!document.hidden && timer === null) schedule(0);
  });
  schedule(POLL_MS);
})();

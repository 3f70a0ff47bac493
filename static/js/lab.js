// Session lab: probe the balancer request by request and draw one cell per answer.
"use strict";

(function () {
  const burst = document.getElementById("burst");
  if (!burst) return;
  const strip = document.getElementById("burst-strip");
  const tally = document.getElementById("burst-tally");
  const button = document.getElementById("burst-start");
  const expected = {
    authenticated: burst.dataset.authenticated === "true",
    username: burst.dataset.username || null,
    cartItems: Number(burst.dataset.cartItems),
  };
  const nothingToLose = !expected.authenticated && expected.cartItems === 0;

  function recognised(probe) {
    return probe.authenticated === expected.authenticated &&
      (probe.username || null) === expected.username &&
      probe.cart_items === expected.cartItems;
  }

  function addCell(state, label, title, detail) {
    const cell = document.createElement("li");
    cell.className = "cell " + state;
    cell.textContent = label;
    if (detail) {
      const small = document.createElement("small");
      small.textContent = detail;
      cell.appendChild(small);
    }
    cell.title = title;
    strip.appendChild(cell);
  }

  function describe(counts, servers, total) {
    const seen = Object.entries(servers).map(([name, n]) => `${name} ×${n}`).join(", ");
    const kept = nothingToLose ? "no session to lose" : `${counts.ok} of ${total} recognised you`;
    return `${kept} · ${counts.lost} lost · ${counts.failed} failed · servers: ${seen || "none yet"}`;
  }

  async function run() {
    const total = Math.min(Math.max(Number(document.getElementById("burst-count").value) || 24, 1), 200);
    const counts = { ok: 0, lost: 0, failed: 0 };
    const servers = {};
    button.disabled = true;
    strip.replaceChildren();
    for (let i = 0; i < total; i++) {
      try {
        const response = await fetch(burst.dataset.probeUrl, { credentials: "same-origin", cache: "no-store" });
        const probe = await response.json();
        servers[probe.server] = (servers[probe.server] || 0) + 1;
        const state = nothingToLose ? "neutral" : recognised(probe) ? "ok" : "lost";
        if (state !== "neutral") counts[state] += 1;
        const who = probe.authenticated ? probe.username : "anonymous";
        const key = probe.key_id || "unknown";
        addCell(
          state,
          probe.server,
          `${probe.server}:${probe.pid} (profile ${probe.profile}, key ${key}) saw ${who}, ${probe.cart_items} in cart`,
          `${probe.profile} · ${key}`,
        );
      } catch (error) {
        counts.failed += 1;
        addCell("failed", "error", String(error));
      }
      tally.textContent = describe(counts, servers, i + 1);
    }
    button.disabled = false;
  }

  button.addEventListener("click", run);
})();

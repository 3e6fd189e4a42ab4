// reconcile's page script: GOV.UK Frontend's components, and the progress page's updates.
// Every page works without it (the progress page then reloads itself every 2 seconds).
import { initAll } from "/assets/govuk-frontend.min.js";

document.body.classList.add("govuk-frontend-supported");
initAll();

const panel = document.querySelector("[data-progress-url]");
if (panel) {
  const bar = panel.querySelector("progress");
  const stage = panel.querySelector("[data-stage]");
  const list = document.querySelector("[data-stages]");
  const poll = async () => {
    let data;
    try {
      const answer = await fetch(panel.dataset.progressUrl, { headers: { Accept: "application/json" } });
      data = await answer.json();
    } catch (error) {
      setTimeout(poll, 2000);
      return;
    }
    if (!["queued", "running"].includes(data.status)) {
      window.location.reload();
      return;
    }
    bar.value = Math.round(data.fraction * 100);
    bar.textContent = `${bar.value}%`;
    if (stage) stage.textContent = data.stage_text || "";
    if (list) {
      for (const item of data.stages) {
        const li = list.querySelector(`[data-stage-name="${item.name}"]`);
        if (li) {
          li.className = `app-stage--${item.state}`;
          const took = li.querySelector("[data-seconds]");
          if (took) took.textContent = item.seconds == null ? "" : ` (${item.seconds.toFixed(1)} s)`;
        }
      }
    }
    setTimeout(poll, 500);
  };
  setTimeout(poll, 300);
}

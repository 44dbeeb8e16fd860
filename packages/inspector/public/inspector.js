// The inspector page: a live task list on the left, the selected task on the right (stacked on a
// phone). Routes are hashes (`#/tasks/<id>`), so a task's view is a link and the server has one page.
import { api } from "./api.js";
import { h } from "./dom.js";
import { TaskDetail } from "./task-detail.js";
import { TaskList } from "./task-list.js";

const scope = document.querySelector("[data-testid=scope]");
const live = document.querySelector("[data-testid=live]");

function taskIdFromHash() {
  const match = /^#\/tasks\/([^/?#]+)$/.exec(location.hash);
  if (!match) return undefined;
  try {
    return decodeURIComponent(match[1]);
  } catch {
    return undefined;
  }
}

function signedOut() {
  live.dataset.state = "off";
  live.querySelector(".live-text").textContent = "Signed out";
}

async function main() {
  let me;
  try {
    me = await api.me();
  } catch (error) {
    signedOut();
    document
      .querySelector(".panes")
      .replaceChildren(
        h("p", { class: "notice", role: "alert" }, `The inspector is not available: ${error.message}`),
      );
    return;
  }
  scope.replaceChildren(
    me.scope === "owner"
      ? h("span", {}, h("strong", {}, me.owner), h("span", { class: "scope-note" }, " · your tasks"))
      : h("span", {}, h("strong", {}, "Operator"), h("span", { class: "scope-note" }, " · all tasks")),
  );
  const list = new TaskList(document.querySelector(".list-pane"), {
    refreshMs: me.refreshMs,
    onUnauthorized: signedOut,
  });
  const detail = new TaskDetail(document.querySelector("#detail"), { refreshMs: me.refreshMs });

  const route = () => {
    const taskId = taskIdFromHash();
    document.body.classList.toggle("has-selection", taskId !== undefined);
    list.select(taskId);
    void detail.show(taskId);
    if (taskId) document.querySelector("#detail").scrollTop = 0;
  };
  window.addEventListener("hashchange", route);
  document.addEventListener("visibilitychange", () => {
    const hidden = document.visibilityState === "hidden";
    live.dataset.state = hidden ? "paused" : "on";
    live.querySelector(".live-text").textContent = hidden ? "Paused" : "Live";
    list.setPaused(hidden);
    detail.setPaused(hidden);
  });
  live.dataset.state = "on";
  route();
  await list.refresh();
}

void main();

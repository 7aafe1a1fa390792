// skuflow workbench: keyboard review and in-place decisions. Every form also works without
// this script (it posts and the server redirects back); this only makes reviewing faster.
(function () {
  "use strict";

  function toast(message, level) {
    var box = document.getElementById("toasts");
    if (!box) return;
    var div = document.createElement("div");
    div.className = "toast " + (level || "ok");
    div.setAttribute("role", "status");
    div.textContent = message;
    box.appendChild(div);
    setTimeout(function () { div.remove(); }, 6000);
  }

  function typing(event) {
    var t = event.target;
    return t && (t.isContentEditable || /^(INPUT|SELECT|TEXTAREA|BUTTON)$/.test(t.tagName) && t.type !== "checkbox");
  }

  var queue = document.getElementById("queue");
  var items = function () { return queue ? Array.prototype.slice.call(queue.querySelectorAll(".item")) : []; };
  var current = 0;

  function select(index, scroll) {
    var all = items();
    if (!all.length) return;
    current = Math.max(0, Math.min(index, all.length - 1));
    all.forEach(function (el, i) { el.classList.toggle("current", i === current); el.setAttribute("aria-current", i === current ? "true" : "false"); });
    if (scroll !== false) { all[current].focus({ preventScroll: true }); all[current].scrollIntoView({ block: "nearest" }); }
  }

  function countSelected() {
    var n = document.querySelectorAll('#queue input[name="ids"]:checked').length;
    var label = document.getElementById("selected-count");
    if (label) label.textContent = n + " selected";
  }

  function decide(form) {
    var item = form.closest(".item");
    var data = new FormData(form);
    form.querySelectorAll("button").forEach(function (b) { b.disabled = true; });
    return fetch(form.action, { method: "POST", body: data, credentials: "same-origin", headers: { "X-Requested-With": "skuflow" } })
      .then(function (response) {
        if (response.status === 401) { window.location.reload(); return null; }
        return response.json().then(function (body) { return { ok: response.ok, body: body }; });
      })
      .then(function (result) {
        if (!result) return;
        toast(result.body.message, result.ok ? "ok" : "error");
        if (result.ok && item && queue) {
          var index = items().indexOf(item);
          item.remove();
          var counter = document.querySelector('.tabs a[aria-current="page"] .count');
          if (counter) counter.textContent = Math.max(0, parseInt(counter.textContent.replace(/,/g, ""), 10) - 1).toLocaleString("en");
          if (!items().length) { window.location.reload(); return; }
          select(index);
        } else if (result.ok) {
          window.location.reload();
        } else {
          form.querySelectorAll("button").forEach(function (b) { b.disabled = false; });
          if (item) item.classList.add("refused");
        }
      })
      .catch(function () {
        toast("The server did not answer; nothing was decided. Try again.", "error");
        form.querySelectorAll("button").forEach(function (b) { b.disabled = false; });
      });
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.matches("form[data-decide]")) { event.preventDefault(); decide(form); }
  });

  document.addEventListener("change", function (event) {
    if (event.target.matches('#queue input[name="ids"]')) countSelected();
  });

  document.addEventListener("click", function (event) {
    var item = event.target.closest && event.target.closest("#queue .item");
    if (item && !event.target.closest("a, button, input, label")) select(items().indexOf(item), false);
  });

  document.addEventListener("keydown", function (event) {
    if (!queue || event.altKey || event.ctrlKey || event.metaKey || typing(event)) return;
    var all = items();
    if (!all.length) return;
    var item = all[current];
    switch (event.key) {
      case "j": case "ArrowDown": select(current + 1); break;
      case "k": case "ArrowUp": select(current - 1); break;
      case "a": decide(item.querySelector('form[data-decide="approve"]')); break;
      case "r": decide(item.querySelector('form[data-decide="reject"]')); break;
      case "x": var box = item.querySelector('input[name="ids"]'); box.checked = !box.checked; countSelected(); break;
      case "o": window.location.href = item.getAttribute("data-record"); break;
      default: return;
    }
    event.preventDefault();
  });

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("#toasts .toast").forEach(function (t) { setTimeout(function () { t.remove(); }, 8000); });
    if (queue) select(parseInt(queue.getAttribute("data-focus") || "0", 10) || 0, false);
  });
})();

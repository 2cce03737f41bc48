// The agent queue (issue 15): countdowns that tick, rows that refresh themselves (htmx swaps
// #queue-results every 30 s) without losing the selection or the keyboard cursor, keyboard
// shortcuts (j/k move, Enter opens, x selects; "?" is the shared help, static/js/shortcuts.js),
// "select all" and the number of selected tickets. Progressive: without this file the queue works as plain pages.
(function () {
  "use strict";

  var selected = new Set(); // ticket numbers whose checkbox is ticked
  var cursor = null; // the ticket number under the keyboard cursor
  var skew = 0; // server clock minus browser clock, in ms

  function results() {
    return document.getElementById("queue-results");
  }

  function rows() {
    return Array.prototype.slice.call(
      document.querySelectorAll("#queue-results tbody tr[data-number]")
    );
  }

  function boxOf(row) {
    return row.querySelector('input[type="checkbox"][name="tickets"]');
  }

  // --- countdowns -----------------------------------------------------------------------------

  // "%(h)d h %(m)02d min" with {h: 1, m: 5} -> "1 h 05 min" (the server's format strings)
  function format(template, values) {
    return template.replace(/%\((\w+)\)(02d|d|s)/g, function (match, key, kind) {
      var value = String(values[key]);
      return kind === "02d" && value.length < 2 ? "0" + value : value;
    });
  }

  function duration(texts, seconds) {
    seconds = Math.floor(Math.abs(seconds));
    var days = Math.floor(seconds / 86400);
    var rest = seconds % 86400;
    var hours = Math.floor(rest / 3600);
    var minutes = Math.floor((rest % 3600) / 60);
    if (days) return format(texts.dh, { d: days, h: hours });
    if (hours) return format(texts.hm, { h: hours, m: minutes });
    return format(texts.m, { m: minutes });
  }

  function tick() {
    var box = results();
    if (!box || !box.dataset.countdown) return;
    var texts = JSON.parse(box.dataset.countdown);
    var now = Date.now() + skew;
    box.querySelectorAll("[data-due]").forEach(function (clock) {
      var due = Date.parse(clock.dataset.due);
      if (isNaN(due)) return;
      var left = (due - now) / 1000;
      var text = format(left < 0 ? texts.late : texts["in"], { left: duration(texts, left) });
      var label = clock.querySelector(".sla-left");
      if (label && label.textContent !== text) label.textContent = text;
      // the live state, as sla.queries.live_state: past due is breached, past at-risk at risk
      var state = clock.dataset.state;
      var risk = Date.parse(clock.dataset.atRisk || "");
      if (left <= 0) state = "breached";
      else if (state === "pending" && !isNaN(risk) && now >= risk) state = "at_risk";
      ["pending", "at_risk", "breached", "met"].forEach(function (name) {
        clock.classList.toggle("sla-" + name, name === state);
      });
    });
  }

  // --- selection and cursor -------------------------------------------------------------------

  function showSelected() {
    var out = document.getElementById("queue-selected");
    if (out) out.textContent = selected.size ? "(" + selected.size + ")" : "";
    var panel = document.getElementById("queue-bulk-panel");
    if (panel && selected.size && !panel.dataset.opened) {
      panel.open = true; // the first selection opens the bulk actions
      panel.dataset.opened = "1";
    }
    var all = document.getElementById("queue-select-all");
    if (all) {
      var boxes = rows().map(boxOf).filter(Boolean);
      all.hidden = boxes.length === 0;
      all.checked = boxes.length > 0 && boxes.every(function (b) { return b.checked; });
    }
  }

  function setCursor(row, focus) {
    rows().forEach(function (r) { r.classList.toggle("is-cursor", r === row); });
    cursor = row ? row.dataset.number : null;
    if (row && focus) {
      var link = row.querySelector("a");
      if (link) link.focus({ preventScroll: true });
      row.scrollIntoView({ block: "nearest" });
    }
  }

  // After a refresh (or a filter change) the new rows get the old state back: ticked boxes,
  // the cursor, and the focus if it was in the table.
  function restore(focusNumber) {
    var box = results();
    if (box && box.dataset.now) {
      var server = Date.parse(box.dataset.now);
      if (!isNaN(server)) skew = server - Date.now();
    }
    var present = new Set();
    rows().forEach(function (row) {
      var number = row.dataset.number;
      present.add(number);
      var check = boxOf(row);
      if (check) check.checked = selected.has(number);
      if (number === cursor) row.classList.add("is-cursor");
      if (number === focusNumber) {
        var target = row.querySelector("a");
        if (target) target.focus({ preventScroll: true });
      }
    });
    selected.forEach(function (number) { if (!present.has(number)) selected.delete(number); });
    showSelected();
    tick();
  }

  var focusedNumber = null;
  document.addEventListener("htmx:before:swap", function () {
    var active = document.activeElement;
    var row = active && active.closest ? active.closest("#queue-results tr[data-number]") : null;
    focusedNumber = row ? row.dataset.number : null;
  });
  document.addEventListener("htmx:after:swap", function () { restore(focusedNumber); });
  document.addEventListener("htmx:after:settle", function () { restore(focusedNumber); });

  document.addEventListener("change", function (event) {
    var target = event.target;
    if (!target || target.type !== "checkbox") return;
    if (target.id === "queue-select-all") {
      rows().forEach(function (row) {
        var check = boxOf(row);
        if (!check) return;
        check.checked = target.checked;
        if (target.checked) selected.add(row.dataset.number);
        else selected.delete(row.dataset.number);
      });
    } else if (target.name === "tickets") {
      if (target.checked) selected.add(target.value);
      else selected.delete(target.value);
    } else {
      return;
    }
    showSelected();
  });

  // --- keyboard -------------------------------------------------------------------------------

  function typing(target) {
    if (!target || !target.tagName) return false;
    var tag = target.tagName.toLowerCase();
    if (tag === "textarea" || tag === "select" || target.isContentEditable) return true;
    if (tag !== "input") return false;
    return ["checkbox", "radio", "button", "submit", "reset"].indexOf(target.type) === -1;
  }

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) return;
    if (!results()) return;
    var list = rows();
    var index = list.findIndex(function (r) { return r.dataset.number === cursor; });
    var row = index >= 0 ? list[index] : null;
    if (event.key === "j" || event.key === "k") {
      if (!list.length) return;
      var next = event.key === "j" ? index + 1 : index - 1;
      if (index < 0) next = 0;
      next = Math.max(0, Math.min(list.length - 1, next));
      setCursor(list[next], true);
      event.preventDefault();
    } else if (event.key === "x" && row) {
      var check = boxOf(row);
      if (check) {
        check.checked = !check.checked;
        check.dispatchEvent(new Event("change", { bubbles: true }));
      }
      event.preventDefault();
    } else if (event.key === "Enter" && row && !(event.target && event.target.closest("a, button"))) {
      var link = row.querySelector("a");
      if (link) window.location.assign(link.href);
      event.preventDefault();
    }
  });

  document.addEventListener("DOMContentLoaded", function () {
    rows().forEach(function (row) {
      var check = boxOf(row);
      if (check && check.checked) selected.add(row.dataset.number); // the browser's restored state
    });
    restore(null);
    window.setInterval(tick, 15000);
  });
})();

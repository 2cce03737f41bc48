// The ticket page's composer (issue 15 item 3): files dropped onto it join the file field,
// the chosen files are listed, a canned response is inserted at the cursor, and typing a reply
// tells the other agents on the page (the presence heartbeat with typing=1, at most every 5 s).
// Without this file the composer still works: one form, one submit.
(function () {
  "use strict";

  var TYPING_EVERY_MS = 5000;

  function listFiles(input, list) {
    if (!list) return;
    list.textContent = "";
    Array.prototype.forEach.call(input.files || [], function (file) {
      var item = document.createElement("li");
      var kb = Math.max(1, Math.round(file.size / 1024));
      item.textContent = file.name + " (" + kb + " KB)";
      list.appendChild(item);
    });
    list.hidden = !(input.files && input.files.length);
  }

  function addFiles(input, files) {
    // The field keeps what was chosen before; dropped files are added to it.
    var transfer = new DataTransfer();
    Array.prototype.forEach.call(input.files || [], function (f) { transfer.items.add(f); });
    Array.prototype.forEach.call(files, function (f) { transfer.items.add(f); });
    input.files = transfer.files;
  }

  function insertAtCursor(textarea, text) {
    var start = textarea.selectionStart || 0;
    var end = textarea.selectionEnd || 0;
    var before = textarea.value.slice(0, start);
    var after = textarea.value.slice(end);
    textarea.value = before + text + after;
    textarea.focus();
    textarea.selectionStart = textarea.selectionEnd = start + text.length;
    textarea.dispatchEvent(new Event("input", { bubbles: true }));
  }

  function csrfToken(form) {
    var field = form.querySelector('input[name="csrfmiddlewaretoken"]');
    return field ? field.value : "";
  }

  function setUp(form) {
    var input = form.querySelector('input[type="file"]');
    var list = form.querySelector("[data-file-list]");
    var body = form.querySelector('textarea[name="body"]');

    if (input) {
      input.addEventListener("change", function () { listFiles(input, list); });
      form.addEventListener("dragover", function (event) {
        if (!event.dataTransfer || Array.prototype.indexOf.call(event.dataTransfer.types, "Files") < 0) return;
        event.preventDefault();
        form.classList.add("is-dropping");
      });
      form.addEventListener("dragleave", function (event) {
        if (!form.contains(event.relatedTarget)) form.classList.remove("is-dropping");
      });
      form.addEventListener("drop", function (event) {
        form.classList.remove("is-dropping");
        if (!event.dataTransfer || !event.dataTransfer.files.length) return;
        event.preventDefault();
        addFiles(input, event.dataTransfer.files);
        listFiles(input, list);
      });
    }

    var canned = form.querySelector("[data-canned]");
    var select = form.querySelector("[data-canned-select]");
    if (canned && select && body) {
      canned.hidden = false;
      select.addEventListener("change", function () {
        var option = select.options[select.selectedIndex];
        if (option && option.dataset.text) insertAtCursor(body, option.dataset.text);
        select.selectedIndex = 0;
      });
    }

    var region = document.getElementById("ticket-presence");
    var url = region ? region.getAttribute("hx-post") : null;
    if (body && url) {
      var last = 0;
      body.addEventListener("input", function () {
        var now = Date.now();
        if (now - last < TYPING_EVERY_MS) return;
        last = now;
        var data = new FormData();
        data.append("typing", "1");
        fetch(url, {
          method: "POST",
          body: data,
          credentials: "same-origin",
          headers: { "X-CSRFToken": csrfToken(form), "HX-Request": "true" },
        })
          .then(function (response) { return response.ok ? response.text() : null; })
          .then(function (html) { if (html !== null) region.innerHTML = html; })
          .catch(function () { /* presence is a hint: a lost beat is repaired by the next */ });
      });
    }
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-composer]").forEach(setUp);
  });
})();

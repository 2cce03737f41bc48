// PIM keyboard shortcuts, shared by every page that includes templates/_shortcuts.html.
// A key press inside a field (input, textarea, select, contenteditable) or with a modifier is
// never a shortcut. Built in: "?" opens the help dialog; an element with data-shortcut="r" is
// focused (a field) or clicked (a link or button) on "r". Pages add their own keys with
// window.PIMShortcuts.add("j", function (event) { ... }) and list them in the partial.
(function () {
  "use strict";

  var handlers = {};

  function typingIn(target) {
    if (!target || target === document.body) return false;
    if (target.isContentEditable) return true;
    var tag = target.tagName;
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT";
  }

  function help() {
    return document.getElementById("shortcut-help");
  }

  function openHelp() {
    var dialog = help();
    if (dialog && !dialog.open && dialog.showModal) dialog.showModal();
  }

  window.PIMShortcuts = {
    add: function (key, handler) {
      handlers[key] = handler;
    },
  };

  document.addEventListener("keydown", function (event) {
    if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey) return;
    if (typingIn(event.target)) return;
    var dialog = help();
    if (dialog && dialog.open) return; // Esc closes it natively
    var key = event.key;
    if (key === "?") {
      event.preventDefault();
      openHelp();
      return;
    }
    if (handlers[key]) {
      handlers[key](event);
      return;
    }
    var target = document.querySelector('[data-shortcut="' + key + '"]');
    if (!target) return;
    event.preventDefault();
    if (typingIn(target)) {
      target.focus();
      target.scrollIntoView({ block: "center" });
    } else {
      target.click();
    }
  });

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-shortcut-help]").forEach(function (button) {
      button.hidden = false;
      button.addEventListener("click", openHelp);
    });
    document.querySelectorAll("[data-shortcut-close]").forEach(function (button) {
      button.addEventListener("click", function () {
        var dialog = help();
        if (dialog) dialog.close();
      });
    });
  });
})();

// PIM: progressive enhancements only; every page works without this file.
(function () {
  "use strict";

  // The P1/P2 phone notice on the new-ticket form: always in the page (visible without JS),
  // shown only while P1 or P2 is selected once JS runs.
  function syncPhoneNotice() {
    var notice = document.getElementById("notice-phone");
    if (!notice) return;
    var checked = document.querySelector('input[name="priority"]:checked');
    var urgent = checked && (checked.value === "1" || checked.value === "2");
    notice.classList.toggle("is-hidden", !urgent);
  }

  document.addEventListener("change", function (event) {
    if (event.target && event.target.name === "priority") syncPhoneNotice();
  });
  document.addEventListener("DOMContentLoaded", syncPhoneNotice);

  // A button or form with data-confirm asks before it submits (revoking, unsubscribing).
  document.addEventListener("submit", function (event) {
    var source = event.submitter && event.submitter.dataset.confirm ? event.submitter : event.target;
    var question = source && source.dataset ? source.dataset.confirm : null;
    if (question && !window.confirm(question)) event.preventDefault();
  });

  // Copy buttons (data-copy = the id of the element whose text is copied); hidden without JS.
  document.addEventListener("DOMContentLoaded", function () {
    if (!navigator.clipboard) return;
    document.querySelectorAll("[data-copy]").forEach(function (button) {
      button.hidden = false;
      button.addEventListener("click", function () {
        var source = document.getElementById(button.dataset.copy);
        if (!source) return;
        navigator.clipboard.writeText(source.textContent.trim()).then(function () {
          button.textContent = button.dataset.copied || button.textContent;
        });
      });
    });
  });

  // Filter panels (details[data-fold-small]) start folded on a small screen; without scripts,
  // and on a desktop, they stay open.
  document.addEventListener("DOMContentLoaded", function () {
    if (!window.matchMedia("(max-width: 767.98px)").matches) return;
    document.querySelectorAll("details[data-fold-small]").forEach(function (panel) {
      panel.open = false;
    });
  });

  // The header menu on a phone: the button folds and unfolds the navigation (aria-expanded);
  // Escape folds it again and returns the focus to the button.
  document.addEventListener("DOMContentLoaded", function () {
    var button = document.querySelector(".pim-menu-button");
    var menu = button && document.getElementById(button.getAttribute("aria-controls"));
    if (!menu) return;
    button.hidden = false;
    function setOpen(open) {
      button.setAttribute("aria-expanded", open ? "true" : "false");
      menu.classList.toggle("is-open", open);
    }
    button.addEventListener("click", function () {
      setOpen(button.getAttribute("aria-expanded") !== "true");
    });
    document.addEventListener("keydown", function (event) {
      if (event.key !== "Escape") return;
      document.querySelectorAll("details.dropdown[open]").forEach(function (d) { d.open = false; });
      if (button.getAttribute("aria-expanded") === "true") {
        setOpen(false);
        button.focus();
      }
    });
  });
})();

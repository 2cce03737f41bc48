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
})();

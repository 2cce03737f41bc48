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
})();

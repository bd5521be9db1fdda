// Sluice console: the little the pages do in the browser. Loaded from
// the console itself (CSP script-src 'self'); the pages work without it.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  // Status and throughput reload themselves (data-refresh seconds),
  // unless a form field has the focus.
  var secs = parseInt(document.body.dataset.refresh || "0", 10);
  if (secs > 0) {
    setInterval(function () {
      var a = document.activeElement;
      if (!a || !a.form) { location.reload(); }
    }, secs * 1000);
  }
  // The history's action filter applies when it changes.
  document.querySelectorAll("select[data-autosubmit]").forEach(function (s) {
    s.addEventListener("change", function () { s.form.submit(); });
  });
  // A chosen file is what is sent: the pasted text of its form is
  // cleared and disabled, and comes back when the file is removed.
  document.querySelectorAll("form input[type=file]").forEach(function (f) {
    f.addEventListener("change", function () {
      var t = f.form.querySelector("textarea");
      if (!t) { return; }
      if (f.files.length > 0) { t.value = ""; }
      t.disabled = f.files.length > 0;
    });
  });
});

// Earshot inbox: local times, the copy button and "all on this page". No
// other script runs.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  var fmt = new Intl.DateTimeFormat(undefined, {dateStyle: "medium", timeStyle: "short"});
  document.querySelectorAll("time[datetime]").forEach(function (el) {
    var d = new Date(el.getAttribute("datetime"));
    if (!isNaN(d)) { el.title = el.textContent; el.textContent = fmt.format(d); }
  });
  var all = document.getElementById("select-all");
  if (all) {
    var picks = document.querySelectorAll("input.pick[form=bulk]");
    document.getElementById("select-all-label").hidden = false;
    all.addEventListener("change", function () {
      picks.forEach(function (p) { p.checked = all.checked; });
    });
    var sync = function () {
      var n = 0;
      picks.forEach(function (p) { if (p.checked) { n++; } });
      all.checked = n > 0 && n === picks.length;
      all.indeterminate = n > 0 && n < picks.length;
    };
    picks.forEach(function (p) { p.addEventListener("change", sync); });
  }
  document.querySelectorAll("button[data-copy]").forEach(function (b) {
    b.addEventListener("click", function () {
      var src = document.getElementById(b.getAttribute("data-copy"));
      var out = b.parentNode.querySelector(".copied");
      var done = function () { if (out) { out.textContent = "Copied."; } };
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(src.value).then(done, function () { src.select(); document.execCommand("copy"); done(); });
      } else { src.select(); document.execCommand("copy"); done(); }
    });
  });
});

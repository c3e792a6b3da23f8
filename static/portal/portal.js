// Small progressive enhancements for every page; everything works without them.
(function () {
  "use strict";
  // After a failed submit, move focus to the list of problems so screen readers announce it.
  var summary = document.getElementById("error-summary");
  if (summary) summary.focus();
})();

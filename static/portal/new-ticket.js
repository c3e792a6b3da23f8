// Progressive enhancement of the new-ticket form: the form works without it.
// Shows the impact chooser only for incidents, and suggests an impact from a few questions.
(function () {
  "use strict";
  var form = document.querySelector(".ticket-form");
  if (!form) return;
  var chooser = form.querySelector("[data-impact-chooser]");
  var helper = form.querySelector("[data-impact-helper]");
  var out = form.querySelector("[data-impact-suggestion]");

  function kind() {
    var checked = form.querySelector("input[name=kind]:checked");
    return checked ? checked.value : "";
  }
  function syncKind() {
    var incident = kind() === "incident";
    chooser.hidden = !incident;
    chooser.querySelectorAll("input[name=impact]").forEach(function (el) {
      el.required = incident;
    });
  }
  function answer(name) {
    var el = form.querySelector("input[name=" + name + "]:checked");
    return el ? el.value : "";
  }
  function suggest() {
    var level = "";
    var why = "";
    if (answer("_q_down") === "yes" || answer("_q_revenue") === "yes") {
      level = "high";
      why = "the service is unavailable or revenue or compliance is affected";
    } else if (answer("_q_users") === "many") {
      if (answer("_q_workaround") === "yes") {
        level = "low";
        why = "people can use another feature meanwhile";
      } else {
        level = "medium";
        why = "more than 5% of users are affected";
      }
    } else if (answer("_q_users") === "few") {
      level = "low";
      why = "5% of users or fewer are affected";
    }
    if (!level) { out.textContent = ""; return; }
    var radio = form.querySelector("input[name=impact][value=" + level + "]");
    if (radio) radio.checked = true;
    out.textContent = "Suggested: " + level.charAt(0).toUpperCase() + level.slice(1) +
      " impact, because " + why + ". You can still choose another level.";
  }
  helper.hidden = false;
  form.querySelectorAll("input[name=kind]").forEach(function (el) {
    el.addEventListener("change", syncKind);
  });
  helper.querySelectorAll("input[type=radio]").forEach(function (el) {
    el.addEventListener("change", suggest);
  });
  syncKind();
})();

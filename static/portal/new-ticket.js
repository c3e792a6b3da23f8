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
  // The decision table comes from the server (tickets/impact.py): first matching row wins.
  var table = JSON.parse(document.getElementById("impact-table").textContent);
  var call = form.querySelector("[data-impact-call]");
  // A level the PM picked is theirs: the helper only pre-selects while none was picked.
  var chosenByPerson = !!form.querySelector("input[name=impact]:checked");
  function suggestion() {
    for (var i = 0; i < table.length; i++) {
      var row = table[i];
      var match = Object.keys(row.when).every(function (name) {
        return answer("_q_" + name) === row.when[name];
      });
      if (match) return row;
    }
    return null;
  }
  function suggest() {
    var row = suggestion();
    call.hidden = !(row && row.call_support);
    if (!row) {
      out.textContent = answer("_q_safety") ? "" : "Start with the first question: patient care comes first.";
      return;
    }
    var current = form.querySelector("input[name=impact]:checked");
    var text = "Suggested: " + row.label + " impact, because " + row.because + ".";
    if (!chosenByPerson) {
      var radio = form.querySelector("input[name=impact][value=" + row.impact + "]");
      if (radio) radio.checked = true;
      text += " You can still choose another level.";
    } else if (current && current.value !== row.impact) {
      text += " You chose " + current.value + "; change it below if the suggestion fits better.";
    }
    out.textContent = text;
  }
  chooser.querySelectorAll("input[name=impact]").forEach(function (el) {
    el.addEventListener("change", function () { chosenByPerson = true; suggest(); });
  });
  helper.hidden = false;
  form.querySelectorAll("input[name=kind]").forEach(function (el) {
    el.addEventListener("change", syncKind);
  });
  helper.querySelectorAll("input[type=radio]").forEach(function (el) {
    el.addEventListener("change", suggest);
  });
  syncKind();
})();

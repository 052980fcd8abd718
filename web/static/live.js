// The live-call screen: the prospect's zone from their last follow-up, a step's text from
// its kind, the clicked slot kept across refreshes, errors next to their fields, the plan
// kept editable after booking. No inline script (CSP).
(function () {
  "use strict";
  var form = document.getElementById("call-form");
  var email = document.getElementById("prospect-email");
  var zone = document.getElementById("prospect-timezone");
  var chosen = document.getElementById("chosen-slot");
  if (!form) { return; }

  if (email && zone) {
    email.addEventListener("change", function () {
      if (!email.value.trim()) { return; }
      var url = email.dataset.zoneUrl + "?email=" + encodeURIComponent(email.value.trim());
      fetch(url, { credentials: "same-origin" })
        .then(function (answer) { return answer.ok ? answer.json() : {}; })
        .then(function (data) {
          if (data.timezone && data.timezone !== zone.value) {
            zone.value = data.timezone;
            zone.dispatchEvent(new Event("change", { bubbles: true }));
          }
        });
    });
  }

  // A kind fills What with words that follow "will", unless the rep typed their own.
  document.querySelectorAll("select.step-type").forEach(function (select) {
    var filled = "";
    select.addEventListener("change", function () {
      var what = document.getElementById(select.id.replace(/-type$/, "-what"));
      var phrase = select.options[select.selectedIndex].dataset.phrase || "";
      if (what && (!what.value.trim() || what.value === filled)) {
        what.value = phrase;
        filled = phrase;
        what.dispatchEvent(new Event("input", { bubbles: true }));
      }
    });
  });

  // The meeting's helpers are the choices of each step's "with help from".
  function showStepHelpers() {
    var ticked = {};
    form.querySelectorAll("input[name=helpers]").forEach(function (box) {
      ticked[box.value] = box.checked;
    });
    form.querySelectorAll("label.step-helper").forEach(function (label) {
      var on = !!ticked[label.dataset.helper];
      label.hidden = !on;
      if (!on) { label.querySelector("input").checked = false; }
    });
  }
  form.addEventListener("change", function (event) {
    if (event.target.name === "helpers") { showStepHelpers(); }
    if (event.target.name === "slot") {
      chosen.value = event.target.value;
      var taken = document.getElementById("slot-taken");
      if (taken) { taken.remove(); }
    }
  });

  // One step is allowed, but a second is asked for.
  var nudge = document.getElementById("second-step-nudge");
  function filled(row) {
    return ["what", "due"].some(function (key) {
      var input = document.getElementById("steps-" + row + "-" + key);
      return input && input.value.trim();
    });
  }
  function updateNudge() {
    if (nudge) { nudge.hidden = !(filled(0) && !filled(1)); }
  }
  form.addEventListener("input", function (event) {
    clearError(event.target);
    updateNudge();
  });
  form.addEventListener("change", updateNudge);

  // "No next step" asks why before anything is logged.
  var endButton = document.getElementById("no-next-step");
  var panel = document.getElementById("no-next-step-panel");
  var reason = document.getElementById("reason");
  var otherField = document.getElementById("reason-other-field");
  endButton.addEventListener("click", function () {
    panel.hidden = !panel.hidden;
    endButton.setAttribute("aria-expanded", String(!panel.hidden));
    if (!panel.hidden) { reason.focus(); }
  });
  reason.addEventListener("change", function () {
    otherField.hidden = reason.value !== "other";
  });

  function errorId(name) { return "error-" + name; }

  function clearError(input) {
    if (!input || !input.name) { return; }
    input.removeAttribute("aria-invalid");
    var message = document.getElementById(errorId(input.name));
    if (message) { message.remove(); }
  }

  function clearErrors(scope) {
    scope.querySelectorAll("[aria-invalid]").forEach(clearError);
  }

  // The input a problem names: 'steps-0-help_from-1' falls back to 'steps-0-help_from'.
  function inputFor(name) {
    var parts = name.split("-");
    while (parts.length) {
      var found = document.getElementsByName(parts.join("-"));
      if (found.length) { return found[0]; }
      parts.pop();
    }
    return null;
  }

  function showNextToField(problem, byButton) {
    var input = inputFor(problem.dataset.field);
    if (!input) { return false; }
    clearError(input);
    var place = input.closest(".field") || input.closest("fieldset") || input;
    var message = document.createElement("p");
    message.className = "field-error";
    message.id = errorId(input.name);
    message.setAttribute("role", "alert");
    message.textContent = problem.textContent;
    place.insertAdjacentElement(place === input ? "afterend" : "beforeend", message);
    input.setAttribute("aria-invalid", "true");
    input.setAttribute("aria-describedby", message.id);
    if (byButton) { input.focus(); }
    problem.remove();
    return true;
  }

  // Once booked, the meeting is fixed; the plan stays editable and "Book it" saves it.
  function booked() {
    document.getElementById("meeting").disabled = true;
    document.querySelectorAll("#slots input").forEach(function (input) { input.disabled = true; });
    var book = document.getElementById("book");
    book.textContent = "Save plan";
    document.getElementById("send-offer").hidden = true;
    endButton.hidden = true;
    panel.hidden = true;
  }

  document.body.addEventListener("htmx:afterSwap", function (event) {
    var target = event.detail.target;
    var trigger = event.detail.requestConfig && event.detail.requestConfig.elt;
    var byButton = !!trigger && trigger.tagName === "BUTTON";
    var problem = target.querySelector("[data-field]");
    if (problem) {
      if (showNextToField(problem, byButton) && target.id === "slots") {
        target.innerHTML = '<p class="muted">Fix the field marked in red to see times.</p>';
      }
      return;
    }
    if (target.id === "slots") {
      clearErrors(document.getElementById("meeting"));
      // A click made while this answer was on its way still counts.
      var keep = chosen.value && target.querySelector('input[name=slot][value="' + chosen.value + '"]');
      if (keep && !keep.checked) {
        keep.checked = true;
        var taken = document.getElementById("slot-taken");
        if (taken) { taken.remove(); }
      }
      return;
    }
    clearErrors(form);
    if (target.querySelector("#booked")) { booked(); }
    var next = target.querySelector("#book-another");
    if (next) { next.focus(); }
  });
})();

// Copy a link to paste into the call's chat; the button says when it worked.
document.addEventListener("click", function (event) {
  var button = event.target.closest("[data-copy]");
  if (!button) { return; }
  navigator.clipboard.writeText(button.dataset.copy).then(function () {
    button.textContent = "Copied";
  }, function () {
    button.textContent = "Select the link and copy it";
  });
});

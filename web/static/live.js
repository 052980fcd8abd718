// The live-call screen: the prospect's zone from their last follow-up, quick-fill of a
// step's text from its kind, focus on what just appeared. No inline script (CSP).
(function () {
  "use strict";
  var email = document.getElementById("prospect-email");
  var zone = document.getElementById("prospect-timezone");

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

  document.querySelectorAll("select.step-type").forEach(function (select) {
    select.addEventListener("change", function () {
      var what = document.getElementById(select.id.replace(/-type$/, "-what"));
      var option = select.options[select.selectedIndex];
      if (what && !what.value.trim()) { what.value = option.dataset.label; }
    });
  });

  document.body.addEventListener("htmx:afterSwap", function (event) {
    var target = event.detail.target;
    var problem = target.querySelector("[data-field]");
    if (problem) {
      var input = document.getElementsByName(problem.dataset.field)[0];
      if (input) { input.setAttribute("aria-invalid", "true"); input.focus(); }
      return;
    }
    document.querySelectorAll("[aria-invalid]").forEach(function (input) {
      input.removeAttribute("aria-invalid");
    });
    var next = target.querySelector("#book-another");
    if (next) { next.focus(); }
  });
})();

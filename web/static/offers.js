// The prospect's pages: every time shown in the browser's own zone (named, and changeable).
// Without script the server's rendering in the prospect's saved zone stays.
(function () {
  "use strict";
  var select = document.getElementById("zone");
  var zoneName = document.getElementById("zone-name");
  var browserZone = Intl.DateTimeFormat().resolvedOptions().timeZone;

  function render(zone) {
    var format = new Intl.DateTimeFormat("en-GB", {
      weekday: "short", day: "numeric", month: "short", hour: "2-digit", minute: "2-digit",
      timeZone: zone
    });
    document.querySelectorAll("time.when").forEach(function (node) {
      node.textContent = format.format(new Date(node.getAttribute("datetime")));
    });
    if (zoneName) { zoneName.textContent = zone; }
  }

  if (select) {
    var zones = [browserZone, select.dataset.saved];
    if (Intl.supportedValuesOf) { zones = zones.concat(Intl.supportedValuesOf("timeZone")); }
    select.innerHTML = "";
    zones.filter(function (zone, i) { return zones.indexOf(zone) === i; })
      .forEach(function (zone) { select.add(new Option(zone, zone)); });
    select.value = browserZone;
    select.addEventListener("change", function () { render(select.value); });
  }
  render(browserZone);
})();

// A cancel cannot be undone: ask once before the form goes.
document.querySelectorAll("[data-confirm]").forEach((button) => {
  button.addEventListener("click", (event) => {
    if (!window.confirm(button.dataset.confirm)) event.preventDefault();
  });
});

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
    // Four hundred zones are too many to scroll: a search box narrows them as one types.
    var search = document.createElement("input");
    search.type = "search";
    search.id = "zone-search";
    search.placeholder = "Search a zone, e.g. Tokyo";
    search.setAttribute("aria-label", "Search a time zone");
    search.setAttribute("list", "zone-list");
    var list = document.createElement("datalist");
    list.id = "zone-list";
    Array.prototype.forEach.call(select.options, function (option) {
      list.appendChild(new Option(option.value.replace(/_/g, " "), option.value));
    });
    select.parentNode.insertBefore(search, select);
    select.parentNode.insertBefore(list, select);
    search.addEventListener("input", function () {
      var typed = search.value.trim().toLowerCase().replace(/ /g, "_");
      var match = Array.prototype.find.call(select.options, function (option) {
        return option.value.toLowerCase() === typed;
      }) || Array.prototype.find.call(select.options, function (option) {
        return typed.length > 2 && option.value.toLowerCase().indexOf(typed) !== -1;
      });
      if (match) { select.value = match.value; render(match.value); }
    });
  }
  render(browserZone);
})();

// A cancel cannot be undone: ask once before the form goes.
document.querySelectorAll("[data-confirm]").forEach((button) => {
  button.addEventListener("click", (event) => {
    if (!window.confirm(button.dataset.confirm)) event.preventDefault();
  });
});

// Static search: loads the index the build wrote (search.json) and filters it in the browser.
// Results are built with textContent only, so nothing in the index can become markup.
(function () {
  "use strict";
  var script = document.currentScript;
  var form = document.querySelector(".search-form");
  var input = document.getElementById("search-query");
  var status = document.getElementById("search-status");
  var list = document.getElementById("search-results");
  if (!script || !form || !input || !status || !list) return;
  var base = script.getAttribute("data-base");
  var entries = null;

  // Case- and accent-insensitive: "tomas" finds "Tomás".
  function fold(text) {
    return text.normalize("NFD").replace(/[\u0300-\u036f]/g, "").toLowerCase();
  }

  function matches(entry, terms) {
    if (!entry.text) {
      entry.text = fold([entry.t, entry.a, entry.s, entry.g.join(" ")].join(" "));
    }
    return terms.every(function (term) { return entry.text.indexOf(term) !== -1; });
  }

  function show(query) {
    var terms = fold(query).split(/\s+/).filter(Boolean);
    list.textContent = "";
    if (!terms.length) { status.textContent = ""; return; }
    var found = entries.filter(function (entry) { return matches(entry, terms); });
    status.textContent = found.length === 1 ? "1 post found." : found.length + " posts found.";
    found.slice(0, 100).forEach(function (entry) {
      var item = document.createElement("li");
      item.className = "entry-row";
      var link = document.createElement("a");
      link.href = base + entry.u;
      link.textContent = entry.t;
      var meta = document.createElement("span");
      meta.className = "entry-row-meta";
      meta.textContent = " " + entry.a + " · " + entry.d;
      item.appendChild(link);
      item.appendChild(meta);
      if (entry.s) {
        var summary = document.createElement("p");
        summary.textContent = entry.s;
        item.appendChild(summary);
      }
      list.appendChild(item);
    });
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var url = new URL(window.location.href);
    url.searchParams.set("q", input.value);
    window.history.replaceState(null, "", url);
    if (entries) show(input.value);
  });
  input.addEventListener("input", function () { if (entries) show(input.value); });

  status.textContent = "Loading the index…";
  fetch(script.getAttribute("data-index"))
    .then(function (response) {
      if (!response.ok) throw new Error(response.status);
      return response.json();
    })
    .then(function (data) {
      entries = data;
      status.textContent = "";
      var query = new URLSearchParams(window.location.search).get("q") || "";
      input.value = query;
      show(query);
    })
    .catch(function () {
      status.textContent = "The search index could not be loaded; try the archives instead.";
    });
})();

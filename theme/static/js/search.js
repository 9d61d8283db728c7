// Full-text search with Pagefind: the indexes the build wrote into the site (CHORUS_SEARCH_BUNDLE:
// 0/, 1/, ..., each of a span of posts) are loaded from this host, a few small files per query. Results are built from text nodes and
// <mark> elements only, so nothing in the index can become markup.
(function () {
  "use strict";
  var form = document.querySelector(".search-form");
  var input = document.getElementById("search-query");
  var status = document.getElementById("search-status");
  var list = document.getElementById("search-results");
  if (!form || !input || !status || !list) return;
  var filterBox = form.querySelector(".search-filters");
  var selects = Array.prototype.slice.call(form.querySelectorAll("select[data-filter]"));
  var bundle = new URL(form.getAttribute("data-bundle"), window.location.href);
  var base = new URL(form.getAttribute("data-base"), window.location.href);
  var indexes = parseInt(form.getAttribute("data-indexes"), 10) || 0;
  var pagefind = null;
  var latest = 0;
  var PAGE = 20;

  // An excerpt is text with <mark> around the words found: keep exactly those two things.
  function excerpt(html) {
    var parsed = new DOMParser().parseFromString(html, "text/html").body;
    var paragraph = document.createElement("p");
    paragraph.className = "search-excerpt";
    parsed.childNodes.forEach(function (node) {
      if (node.nodeType === Node.ELEMENT_NODE && node.tagName === "MARK") {
        var mark = document.createElement("mark");
        mark.textContent = node.textContent;
        paragraph.appendChild(mark);
      } else {
        paragraph.appendChild(document.createTextNode(node.textContent));
      }
    });
    return paragraph;
  }

  function row(data) {
    var item = document.createElement("li");
    item.className = "entry-row";
    var link = document.createElement("a");
    link.href = data.url;
    link.textContent = (data.meta && data.meta.title) || data.url;
    item.appendChild(link);
    var who = (data.filters && data.filters.member) || [];
    var when = (data.meta && data.meta.date) || "";
    var meta = document.createElement("span");
    meta.className = "entry-row-meta";
    meta.textContent = " " + who.concat(when ? [when] : []).join(" · ");
    item.appendChild(meta);
    item.appendChild(excerpt(data.excerpt || ""));
    return item;
  }

  function chosenFilters() {
    var filters = {};
    selects.forEach(function (select) {
      if (select.value) filters[select.getAttribute("data-filter")] = select.value;
    });
    return filters;
  }

  function remember(query) {
    var url = new URL(window.location.href);
    url.searchParams.set("q", query);
    selects.forEach(function (select) {
      var name = select.getAttribute("data-filter");
      if (select.value) url.searchParams.set(name, select.value);
      else url.searchParams.delete(name);
    });
    window.history.replaceState(null, "", url);
  }

  async function show() {
    var query = input.value.trim();
    var filters = chosenFilters();
    var asked = ++latest;
    if (!query && !Object.keys(filters).length) {
      list.textContent = "";
      status.textContent = "";
      return;
    }
    var search = await pagefind.search(query || null, { filters: filters });
    var found = await Promise.all(search.results.slice(0, PAGE).map(function (r) { return r.data(); }));
    if (asked !== latest) return; // a newer query is on its way
    list.textContent = "";
    found.forEach(function (data) { list.appendChild(row(data)); });
    var count = search.results.length;
    status.textContent = (count === 1 ? "1 post found" : count + " posts found") +
      (count > PAGE ? "; the first " + PAGE + " are shown." : ".");
  }

  function fillFilters(available) {
    var params = new URLSearchParams(window.location.search);
    var any = false;
    selects.forEach(function (select) {
      var name = select.getAttribute("data-filter");
      var values = Object.keys(available[name] || {}).sort(function (a, b) {
        return a.localeCompare(b);
      });
      values.forEach(function (value) {
        var option = document.createElement("option");
        option.value = value;
        option.textContent = value + " (" + available[name][value] + ")";
        select.appendChild(option);
      });
      if (values.length) any = true;
      var wanted = params.get(name);
      if (wanted && values.indexOf(wanted) !== -1) select.value = wanted;
    });
    if (any && filterBox) filterBox.hidden = false;
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    remember(input.value);
    if (pagefind) show();
  });
  input.addEventListener("input", function () { if (pagefind) show(); });
  selects.forEach(function (select) {
    select.addEventListener("change", function () {
      remember(input.value);
      if (pagefind) show();
    });
  });

  if (!indexes) {
    status.textContent = "There is nothing to search yet.";
    return;
  }
  status.textContent = "Loading the index…";
  import(new URL("0/pagefind.js", bundle).href)
    .then(async function (module) {
      await module.options({ baseUrl: base.pathname });
      // The other indexes load side by side, not one round trip after another.
      var others = [];
      for (var number = 1; number < indexes; number++) {
        others.push(module.mergeIndex(new URL(number + "/", bundle).href, { baseUrl: base.pathname }));
      }
      await Promise.all(others);
      pagefind = module;
      fillFilters(await module.filters());
      status.textContent = "";
      input.value = new URLSearchParams(window.location.search).get("q") || "";
      await show();
    })
    .catch(function () {
      status.textContent = "The search index could not be loaded; try the archives instead.";
    });
})();

/* alliumd search: loads search-index.json once and searches it in the browser.
 *
 * No third-party code, no inline handlers, no innerHTML: every result is built
 * with DOM APIs and textContent, and a link is made only from an id whose
 * shape is checked here (fingerprint, AS number, country code, contact id).
 * Index schema: alliumd/model/search.py.
 */
(function () {
  "use strict";

  var LIMIT = 100;
  var FP = /^[0-9A-F]{40}$/;
  var AS = /^AS[0-9]{1,10}$/;
  var CC = /^[a-z]{2}$/;
  var CONTACT = /^(?:[0-9a-f]{32}|[a-z0-9][a-z0-9.-]{0,126}[a-z0-9])$/;
  var HEX = /^[0-9A-F]{4,40}$/;

  var form = document.getElementById("search-form");
  var input = document.getElementById("q");
  var results = document.getElementById("results");
  var status = document.getElementById("search-status");
  if (!form || !input || !results || !status || !window.fetch) {
    return;
  }
  var root = form.getAttribute("data-root") || "";
  var indexUrl = form.getAttribute("data-index") || "search-index.json";
  var loading = null;
  /* Opened from disk (file://), browsers refuse to let a page read the index: say so plainly. */
  var overFile = !!(window.location && window.location.protocol === "file:");
  var FILE_HINT = "Search needs the site served over HTTP: browsers do not let a page opened from a file " +
    "read search-index.json. Serve it, for example with \u201cpython3 -m http.server --directory var/www\u201d, " +
    "and open 127.0.0.1:8000/search.html in the browser, or use the lists below.";

  function load() {
    if (!loading) {
      loading = fetch(indexUrl, { credentials: "same-origin" })
        .then(function (response) {
          if (!response.ok) {
            throw new Error("HTTP " + response.status);
          }
          return response.json();
        })
        .then(prepare);
    }
    return loading;
  }

  /* Lower-case copies once, so each search is a plain scan. */
  function prepare(index) {
    var contacts = index.contacts || {};
    var asNames = index.as_names || {};
    var countries = index.countries || {};
    (index.relays || []).forEach(function (r) {
      r._n = String(r.n || "").toLowerCase();
      r._a = String(r.a || "");
      r._c = String(contacts[r.c] || "").toLowerCase();
    });
    (index.families || []).forEach(function (f) {
      f._nn = (f.nn || []).map(function (n) { return String(n).toLowerCase(); });
    });
    index._asNames = asNames;
    index._countries = countries;
    index._contacts = contacts;
    return index;
  }

  function href(kind, id) {
    var ok = { relay: FP, family: FP, as: AS, country: CC, contact: CONTACT }[kind];
    if (!ok || typeof id !== "string" || !ok.test(id)) {
      return null;
    }
    return root + kind + "/" + id + "/index.html";
  }

  function includes(text, q) {
    return typeof text === "string" && text.toLowerCase().indexOf(q) !== -1;
  }

  function search(index, raw) {
    var q = raw.trim().toLowerCase();
    var upper = raw.trim().replace(/^\$/, "").replace(/\s+/g, "").toUpperCase();
    var hex = HEX.test(upper);
    var asQuery = AS.test(upper) ? upper : null;
    var ccQuery = CC.test(q) ? q : null;
    var ipQuery = /^[0-9a-f:.]+$/.test(q) && /[.:]/.test(q);
    var found = { relays: [], families: [], contacts: [], networks: [], countries: [] };
    var contactSeen = {};

    (index.relays || []).forEach(function (r) {
      var hit = r._n.indexOf(q) !== -1 ||
        (hex && r.f.indexOf(upper) === 0) ||
        (q.length >= 3 && (r._a.indexOf(q) !== -1 || r._c.indexOf(q) !== -1)) ||
        (r.c === q) ||
        (asQuery !== null && r.as === asQuery) ||
        (ccQuery !== null && r.cc === ccQuery) ||
        (ipQuery && (r.ip || []).some(function (ip) { return ip.indexOf(q) === 0; }));
      if (hit) {
        found.relays.push(r);
        if (r.c && !contactSeen[r.c] && (r.c === q || r._a.indexOf(q) !== -1 || r._c.indexOf(q) !== -1)) {
          contactSeen[r.c] = true;
          found.contacts.push({ id: r.c, label: r.a || index._contacts[r.c] || r.c });
        }
      }
    });
    (index.families || []).forEach(function (f) {
      if ((hex && f.id.indexOf(upper) === 0) || f._nn.some(function (n) { return n.indexOf(q) !== -1; })) {
        found.families.push(f);
      }
    });
    Object.keys(index._asNames).sort().forEach(function (id) {
      if (id === asQuery || (q.length >= 3 && includes(index._asNames[id], q))) {
        found.networks.push({ id: id, label: id + " " + index._asNames[id] });
      }
    });
    Object.keys(index._countries).sort().forEach(function (id) {
      if (id === ccQuery || (q.length >= 3 && includes(index._countries[id], q))) {
        found.countries.push({ id: id, label: index._countries[id] + " (" + id.toUpperCase() + ")" });
      }
    });
    return found;
  }

  function item(kind, id, label, detail) {
    var li = document.createElement("li");
    var target = href(kind, id);
    var name = document.createElement(target ? "a" : "span");
    if (target) {
      name.setAttribute("href", target);
    }
    var bdi = document.createElement("bdi");
    bdi.textContent = label;
    name.appendChild(bdi);
    li.appendChild(name);
    if (detail) {
      var span = document.createElement("span");
      span.className = "detail";
      span.textContent = detail;
      li.appendChild(span);
    }
    return li;
  }

  function section(title, entries, toItem) {
    if (!entries.length) {
      return null;
    }
    var box = document.createElement("section");
    var h = document.createElement("h2");
    h.textContent = title + " (" + entries.length + (entries.length > LIMIT ? ", first " + LIMIT + " shown" : "") + ")";
    box.appendChild(h);
    var ul = document.createElement("ul");
    entries.slice(0, LIMIT).forEach(function (e) { ul.appendChild(toItem(e)); });
    box.appendChild(ul);
    return box;
  }

  function show(index, raw) {
    while (results.firstChild) {
      results.removeChild(results.firstChild);
    }
    if (!raw.trim()) {
      status.textContent = "";
      return;
    }
    var found = search(index, raw);
    var boxes = [
      section("Relays", found.relays, function (r) {
        var detail = [r.f, r.cc ? r.cc.toUpperCase() : "", r.as || "", (r.ip || [])[0] || ""]
          .filter(Boolean).join(" · ");
        return item("relay", r.f, r.n || r.f, detail);
      }),
      section("Families", found.families, function (f) {
        return item("family", f.id, (f.nn || []).slice(0, 5).join(", ") || f.id, f.sz + " relays");
      }),
      section("Operators", found.contacts, function (c) { return item("contact", c.id, c.label, ""); }),
      section("Networks", found.networks, function (n) { return item("as", n.id, n.label, ""); }),
      section("Countries", found.countries, function (c) { return item("country", c.id, c.label, ""); })
    ].filter(Boolean);
    boxes.forEach(function (b) { results.appendChild(b); });
    status.textContent = boxes.length ? "" : "Nothing matches.";
  }

  function run(raw) {
    status.textContent = "Loading the search index…";
    load().then(function (index) {
      show(index, raw);
    }, function (err) {
      status.textContent = overFile ? FILE_HINT
        : "The search index could not be loaded (" + err.message + ").";
    });
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var q = input.value;
    if (window.history && window.history.replaceState) {
      window.history.replaceState(null, "", "?q=" + encodeURIComponent(q));
    }
    run(q);
  });

  var initial = new URLSearchParams(window.location.search).get("q");
  if (initial) {
    input.value = initial;
    run(initial);
  } else if (overFile) {
    load().catch(function () { status.textContent = FILE_HINT; });     /* tell before anyone types */
  }
}());

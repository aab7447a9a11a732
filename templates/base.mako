## Layout shared by every page.  Links are relative (chrome['root']) so the
## site works from file:// and under any URL prefix.  Nothing volatile here:
## page bytes must only change when the data does.  The navigation is a
## loop over NAV, not a def call per link: every one of ~30k pages renders it.
<%!
    NAV = (("index.html", "Overview"),
           ("aroi/leaderboards.html", "Leaderboards"),
           ("relays/top.html", "Top relays"),
           ("relays/all.html", "All relays"),
           ("network-health.html", "Network health"),
           ("events.html", "Events"),
           ("authorities.html", "Authorities"),
           ("lists/families-by-bandwidth.html", "Browse"),
           ("search.html", "Search"),
           ("status.html", "Status"))
%>\
<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title><%block name="title"/> · ${chrome['site_title']}</title>
<link rel="stylesheet" href="${chrome['root']}static/style.css">
<%block name="head"/>
</head>
<body>
<header class="top">
<a class="brand" href="${chrome['root']}index.html">${chrome['site_title']}</a>
<nav>
% for path, label in NAV:
% if chrome['page_path'] == path:
<a href="${chrome['root']}${path}" aria-current="page">${label}</a>
% else:
<a href="${chrome['root']}${path}">${label}</a>
% endif
% endfor
</nav>
</header>
<main>
${source_line(chrome['sources'])}
${next.body()}
</main>
<footer>
<p>Built by alliumd from public Tor network data. Times are UTC. Every page works without JavaScript.</p>
</footer>
</body>
</html>
## Which sources this page was built from, when they were published, and
## whether they are sample data or stale.
<%def name="source_line(sources)">\
% if sources:
<p class="src">Data:
% for s in sources:
<span class="srci">${s.label}\
% if not s.available:
 <span class="badge warn">unavailable</span>\
% else:
, published ${s.published or "at an unknown time"}\
% endif
% if s.sample:
 <span class="badge sample">sample data</span>\
% endif
% if s.stale:
 <span class="badge warn">stale</span>\
% endif
</span>
% endfor
</p>\
% endif
</%def>\
<%def name="relay_link(fingerprint, nickname)">\
<a href="${chrome['root']}relay/${fingerprint}/index.html">${nickname}</a>\
</%def>\
## A key/value row; the value is always escaped text.
<%def name="kv(label, value)">\
<tr><th scope="row">${label}</th><td>${value if value is not None and value != "" else "–"}</td></tr>\
</%def>
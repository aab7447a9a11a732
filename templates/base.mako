## Layout shared by every page.  Links are relative (chrome['root']) so the
## site works from file:// and under any URL prefix.  Nothing volatile here:
## page bytes must only change when the data does (a page's key leaves out the
## sources' publication times: a page states the publication it was rendered from).  The navigation is
## chrome['nav'] (Registry.nav: only pages this build writes), a loop, not a
## def call per link: every one of ~30k pages renders it.
<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title><%block name="title"/> · ${chrome['site_title']}</title>
<link rel="stylesheet" href="${chrome['root']}${chrome['style']}">
<%block name="head"/>
</head>
<body>
<header class="top">
% if chrome['home']:
<a class="brand" href="${chrome['root']}${chrome['home']}">${chrome['site_title']}</a>
% else:
<span class="brand">${chrome['site_title']}</span>
% endif
<nav>
% for path, label in chrome['nav']:
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
<p>A page is rewritten when a publication changes what it shows: the data times at its top are those of the
publication it shows, and every later one repeated it${"" if chrome['status'] else "."}\
% if chrome['status']:
 (the <a href="${chrome['root']}${chrome['status']}">status page</a> has each source's latest).\
% endif
</p>
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
 <span class="badge warn">${"no data yet" if s.enabled else "disabled"}</span>\
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
<%def name="relay_link(path, nickname)">\
<a href="${chrome['root']}${path}">${nickname}</a>\
</%def>\
## A key/value row; the value is always escaped text.
<%def name="kv(label, value)">\
<tr><th scope="row">${label}</th><td>${value if value is not None and value != "" else "–"}</td></tr>\
</%def>
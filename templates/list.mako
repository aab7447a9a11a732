<%inherit file="base.mako"/>\
<%namespace name="rowcache" module="alliumd.pages.rowcache"/>\
## A sorted listing of groups (families, networks, contacts, countries,
## platforms).  Thousands of rows at network scale: the rank is a CSS counter
## (no per-row expression), and a group's row up to its sorted value is the
## same in the 17 listings of its kind: list_row() reads only its arguments
## and its output is reused (pages/rowcache.py) while the row object and the
## other arguments are the same; ``n`` only on that already-escaped output.
<%block name="title">${kind_title} by ${variant_title}</%block>\
<link rel="stylesheet" href="${chrome['root']}static/groups.css">
<h1>${kind_title} by ${variant_title}</h1>
<p class="lead">${entries}, sorted by <strong>${variant_title}</strong>, ${"oldest first" if ascending else "highest first"}. Counts, bandwidth and weight cover running relays.</p>
<nav class="lists" aria-label="Listings">
<p>Kind:
% for k in nav['kinds']:
% if k['kind'] == list_kind:
<strong>${k['title']}</strong>
% else:
<a href="${chrome['root']}lists/${k['kind']}-by-${variant}.html">${k['title']}</a>
% endif
% endfor
</p>
<p>Sorted by:
% for v in nav['variants']:
% if v['variant'] == variant:
<strong>${v['title']}</strong>
% else:
<a href="${chrome['root']}lists/${list_kind}-by-${v['variant']}.html">${v['title']}</a>
% endif
% endfor
</p>
</nav>
% if variant == 'total-data':
<p class="note">Each relay counts with its longest available history: 5 years, else 1 year, 6 months or 1 month.</p>
% endif
% if not available:
<p class="note">No bandwidth history is available yet, so this listing is empty.</p>
% elif not rows:
<p>Nothing to list in this document.</p>
% else:
<div class="wide">
<table class="list">
<thead><tr><th class="n">#</th><th>Name</th><th class="n">Running / listed</th><th class="n">Exit / guard / middle</th>\
% if show_observed:
<th class="n">Observed</th>\
% endif
% if show_share:
<th class="n">Weight share</th>\
% endif
<th class="n sorted">${sorted_title}</th></tr></thead>
<tbody class="ranked">
% if rowcache.cache_rows(rows):
% for r, value in rows:
${rowcache.listing(local.list_row, r, chrome['root'], show_observed, show_share) | n}<td class="n sorted">${value}</td></tr>
% endfor
% else:
% for r, value in rows:
${local.list_row(r, chrome['root'], show_observed, show_share)}<td class="n sorted">${value}</td></tr>
% endfor
% endif
</tbody>
</table>
</div>
% endif
<%def name="list_row(r, root, show_observed, show_share)">\
<tr><td class="n rank"></td><td><a href="${root}${r['href']}">${r['label']}</a></td><td class="n">${r['relays']}</td><td class="n">${r['roles']}</td>\
% if show_observed and show_share:
<td class="n">${r['bandwidth']}</td><td class="n">${r['consensus_weight_fraction']}</td>\
% elif show_share:
<td class="n">${r['consensus_weight_fraction']}</td>\
% else:
<td class="n">${r['bandwidth']}</td>\
% endif
</%def>\

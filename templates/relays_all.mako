<%inherit file="base.mako"/>\
<%namespace name="rowcache" module="alliumd.pages.rowcache"/>\
<%block name="title">All relays</%block>\
## About 10k rows at network scale: short class names and no inline styles.
## A relay's row is rendered once by relay_row(), which reads only its
## arguments, and its output reused (pages/rowcache.py) while its row object
## and the link root are the same; ``n`` only on that already-escaped output.
<h1>All relays</h1>
<p class="lead">${count} relays, published ${published}, by consensus weight. Relays not running are greyed out.</p>
<div class="wide">
<table class="list">
<thead><tr><th>Nickname</th><th>Fingerprint</th><th>Flags</th><th>CC</th><th>AS</th><th class="n">Observed</th><th class="n">Weight</th><th>Version</th><th>OS</th><th>First seen</th></tr></thead>
<tbody>
% for r in relays:
${rowcache.all_relays(local.relay_row, r, chrome['root']) | n}\
% endfor
</tbody>
</table>
</div>
<%def name="relay_row(r, root)">\
<tr class="${'u' if r['running'] else 'd'}"><td><a href="${root}relay/${r['fingerprint']}/index.html">${r['nickname']}</a></td><td class="m">${r['fp_short']}</td><td>${r['flags_text']}</td><td>${r['country_code'] or "–"}</td><td>${r['as_number'] or "–"}</td><td class="n">${r['observed_bandwidth_text']}</td><td class="n">${r['consensus_weight_text']}</td><td>${r['version'] or "–"}</td><td>${r['os'] or "–"}</td><td>${r['first_seen_date']}</td></tr>
</%def>\

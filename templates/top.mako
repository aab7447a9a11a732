<%inherit file="base.mako"/>\
<%block name="title">Top ${limit} relays by ${measure}</%block>\
<link rel="stylesheet" href="${chrome['root']}static/groups.css">
<h1>Top ${limit} relays by ${measure}</h1>
<p class="lead">The ${shown_count} running relays with the highest <strong>${measure}</strong>, highest first.</p>
% if not uptime_available:
<p class="note">No uptime data is available yet.</p>
% endif
<div class="wide">
<table class="list">
<thead><tr><th class="n">#</th><th>Nickname</th><th>Flags</th><th>CC</th><th>AS</th><th class="n">Observed</th><th class="n sorted">Weight</th><th class="n">Share</th><th class="n">Uptime 6M</th></tr></thead>
<tbody class="ranked">
% for r in rows:
<tr><td class="n rank"></td><td><a href="${chrome['root']}relay/${r['fingerprint']}/index.html">${r['nickname']}</a></td><td>${r['flags']}</td><td>${r['country'] or "–"}</td><td>${r['as'] or "–"}</td><td class="n">${r['bandwidth']}</td><td class="n sorted">${r['consensus_weight_text']}</td><td class="n">${r['consensus_weight_fraction']}</td><td class="n">${r['uptime']}</td></tr>
% endfor
</tbody>
</table>
</div>

<%inherit file="base.mako"/>\
<%block name="title">AROI leaderboards</%block>\
<h1>AROI operator leaderboards</h1>
<p class="lead">${operators} operators ranked in ${len(categories)} categories. Operators are grouped by their
AROI domain (Authenticated Relay Operator ID) when their contact has one, else by contact.</p>
% if not inputs.get('aroi'):
<p class="note">No AROI validator data yet: validation status is "unknown" and the validated-relays board is empty.</p>
% endif
<nav class="toc"><ul>
% for c in categories:
<li><a href="#${c['key']}">${c['title']}</a></li>
% endfor
</ul></nav>
% for c in categories:
<section id="${c['key']}">
<h2>${c['title']}</h2>
<p class="note">${c['description']}</p>
% if not c['entries']:
<p>No operator qualifies yet.</p>
% else:
${board(c['entries'][:10])}
% if len(c['entries']) > 10:
<details><summary>Ranks 11–${min(20, len(c['entries']))}</summary>
${board(c['entries'][10:20])}
</details>
% endif
% if len(c['entries']) > 20:
<details><summary>Ranks 21–${len(c['entries'])}</summary>
${board(c['entries'][20:])}
</details>
% endif
% endif
</section>
% endfor
<%def name="board(entries)">\
<table class="list">
<thead><tr><th class="n">#</th><th>Operator</th><th>AROI</th><th class="n">Relays</th><th>Score</th><th>Detail</th></tr></thead>
<tbody>
% for e in entries:
<tr><td class="n">${e['rank']}\
% if e['badge']:
 <span class="badge ok">${e['badge']}</span>\
% endif
</td><td><a href="${chrome['root']}${e['href']}">${e['label']}</a></td><td>${e['status']}</td>\
<td class="n">${e['relays']}</td><td>${e['value']}</td><td>${e['detail']}</td></tr>
% endfor
</tbody>
</table>
</%def>

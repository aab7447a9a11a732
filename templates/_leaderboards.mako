## The AROI leaderboards, shared by index.html and aroi/leaderboards.html.
## Ranks 1-10 are shown; 11-20 and 21-25 sit in native <details> disclosures,
## so the "pages" of a board work without JavaScript.  Every value is escaped
## text; operator labels are isolated with <bdi>; links are site-relative.
<%def name="note(inputs)">\
% if not inputs.get('aroi'):
<p class="note">No AROI validator data yet: validation status is "unknown" and the validated-relays board is empty.</p>
% endif
% if not inputs.get('uptime') or not inputs.get('bandwidth'):
<p class="note">Boards built from uptime or bandwidth history stay empty until that source has data.</p>
% endif
</%def>\
<%def name="overview(o, prefix)">\
<table class="kv">
<caption>Network overview</caption>
% for row in o['rows']:
<tr><th scope="row">${row['label']}</th><td>${row['value']} <span class="d">${row['detail']}</span></td></tr>
% endfor
</table>
<div class="wide"><table class="list">
<caption>Top 3 of every board</caption>
<thead><tr><th>Board</th><th>1st</th><th>2nd</th><th>3rd</th></tr></thead>
<tbody>
% for c in o['top3']:
<tr><td><a href="#${prefix}${c['key']}">${c['title']}</a></td>\
% for e in c['entries']:
<td><a href="${chrome['root']}${e['href']}"><bdi>${e['label']}</bdi></a> <span class="d">${e['value_text']}</span></td>\
% endfor
% for _ in c['blanks']:
<td>–</td>\
% endfor
</tr>
% endfor
</tbody>
</table></div>
</%def>\
<%def name="toc(categories, prefix)">\
<nav class="toc" aria-label="Leaderboards"><ul>
% for c in categories:
<li><a href="#${prefix}${c['key']}">${c['title']}</a></li>
% endfor
</ul></nav>
</%def>\
<%def name="sections(categories, prefix, heading)">\
% for c in categories:
<section id="${prefix}${c['key']}">
<${heading}>${c['title']}</${heading}>
<p class="note">${c['description']}</p>
% if not c['entries']:
<p>No operator qualifies yet.</p>
% else:
${board(c['first'])}
% for part in c['more']:
<details><summary>${part['label']}</summary>
${board(part['entries'])}
</details>
% endfor
% endif
</section>
% endfor
</%def>\
<%def name="board(entries)">\
<div class="wide"><table class="list">
<thead><tr><th class="n">#</th><th>Operator</th><th>AROI</th><th class="n">Relays</th><th>Score</th><th>Detail</th></tr></thead>
<tbody>
% for e in entries:
<tr><td class="n">${e['rank']}\
% if e['badge']:
 <span class="badge ok">${e['badge']}</span>\
% endif
</td><td><a href="${chrome['root']}${e['href']}"><bdi>${e['label']}</bdi></a></td><td>${e['status_text'] or "–"}</td>\
<td class="n">${e['relays']}</td><td>${e['value']}</td><td><bdi>${e['detail']}</bdi></td></tr>
% endfor
</tbody>
</table></div>
</%def>\

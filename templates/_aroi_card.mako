<%page args="card"/>\
## The network health AROI card (model.aroi.health_card): plain text cells only.
<section class="hcard" id="${card['id']}">
<h2>${card['title']}</h2>
% if card['available']:
<p class="note">AROI validator run of ${card['published']}.</p>
% endif
<table class="kv">
% for row in card['rows']:
<tr><th scope="row">${row['label']}</th><td>${row['value']}\
% if row['detail']:
 <span class="d">${row['detail']}</span>\
% endif
</td></tr>
% endfor
</table>
% for t in card['tables']:
% if not t['rows']:
<p class="note">${t['caption']}: none.</p>
% else:
<div class="wide"><table>
<caption>${t['caption']}</caption>
<thead><tr>\
<th>${t['head'][0]}</th>\
% for h in t['head'][1:]:
<th class="n">${h}</th>\
% endfor
</tr></thead>
<tbody>
% for cells in t['rows']:
<tr><td>${cells[0]}</td>\
% for cell in cells[1:]:
<td class="n">${cell}</td>\
% endfor
</tr>
% endfor
</tbody>
</table></div>
% endif
% endfor
% for note in card['notes']:
<p class="note">${note}</p>
% endfor
</section>

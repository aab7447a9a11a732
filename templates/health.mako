<%inherit file="base.mako"/>\
<%namespace name="ch" file="charts.mako"/>\
<%block name="title">Network health</%block>\
<%block name="head">${ch.stylesheet()}</%block>\
<h1>Network health</h1>
<p class="lead">${running} running relays, published ${published}. Figures cover running relays unless a row says otherwise.</p>
<div class="hcards">
% for card in cards:
<section class="hcard" id="${card['id']}">
<h2>${card['title']}</h2>
% if card['rows']:
<table class="kv">
% for row in card['rows']:
<tr><th scope="row">${row['label']}</th><td>${row['value']}\
% if row['detail']:
 <span class="d">${row['detail']}</span>\
% endif
</td></tr>
% endfor
</table>
% endif
% for t in card['tables']:
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
% endfor
% for c, cid in zip(card['charts'], card['chart_ids']):
${ch.bar_chart(c, cid)}\
% endfor
% for note in card['notes']:
<p class="note">${note}</p>
% endfor
</section>
% endfor
<%include file="_aroi_card.mako" args="card=aroi_card"/>
<%include file="_authorities_card.mako" args="card=authorities_card"/>
</div>

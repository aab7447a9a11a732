<%page args="card"/>\
## The network health authorities card (model.authorities.health_card): plain text only, every
## string escaped (authority nicknames and consensus-health notices are scraped text).
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
% if card.get('notices'):
<h3>Notices from consensus-health</h3>
<ul class="notices">
% for n in card['notices']:
<li>\
% if n['authority']:
<b>${n['authority']}</b>: \
% endif
${n['text']}</li>
% endfor
</ul>
% if card.get('more_notices'):
<p class="note">${card['more_notices']} more on the authorities page.</p>
% endif
% endif
% for note in card['notes']:
<p class="note">${note}</p>
% endfor
<p><a href="authorities.html">Every authority in detail</a></p>
</section>

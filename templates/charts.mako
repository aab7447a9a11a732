## Inline SVG charts drawn from the view models of alliumd.model.charts.
## No JavaScript, no external assets: geometry is precomputed (a line's points in
## its own units, placed by its transform), styles are in static/charts.css,
## every label is escaped text.  The <title> (named by
## aria-labelledby) is a one-line summary for screen readers and tooltips.
<%def name="stylesheet()">\
<link rel="stylesheet" href="${chrome['root']}static/charts.css">\
</%def>\
<%def name="time_chart(c, cid)">\
<figure class="chart"><svg viewBox="0 0 ${c['width']} ${c['height']}" role="img" aria-labelledby="${cid}"><title id="${cid}">${c['summary']}</title>
% for band in c['bands']:
<path class="g" d="${band['grid']}"/><g class="yl" transform="translate(${c['y_label_x']} 0)">\
% for t in band['y_ticks']:
<text y="${t['y']}">${t['label']}</text>\
% endfor
</g>
% for ln in band['lines']:
% for points in ln['segments']:
<polyline class="${ln['cls']}" transform="${ln['transform']}" points="${points}"/>
% endfor
% endfor
% endfor
<path class="t" d="${c['marks']}"/><g class="xl" transform="translate(0 ${c['x_label_y']})">\
% for t in c['x_ticks']:
<text x="${t['lx']}">${t['label']}</text>\
% endfor
</g></svg><figcaption>${c['caption']}\
% for k in c['legend']:
 <span class="k ${k['cls']}">${k['label']}</span>\
% endfor
</figcaption></figure>
</%def>\
<%def name="bar_chart(c, cid)">\
<figure class="chart"><svg viewBox="0 0 ${c['width']} ${c['height']}" role="img" aria-labelledby="${cid}"><title id="${cid}">${c['summary']}</title>
% for r in c['rows']:
<text class="bl" x="${c['label_x']}" y="${r['text_y']}">${r['label']}</text><rect class="b" x="${c['bar_x']}" y="${r['y']}" width="${r['w']}" height="14"/><text class="bv" x="${r['value_x']}" y="${r['text_y']}">${r['value_text']}</text>
% endfor
</svg><figcaption>${c['title']}</figcaption></figure>
</%def>

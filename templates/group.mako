<%inherit file="base.mako"/>\
<%namespace name="rowcache" module="alliumd.pages.rowcache"/>\
<%namespace name="ch" file="charts.mako"/>\
<%namespace name="gt" module="alliumd.pages.group_text"/>\
## One template for every group kind (family, AS, contact, country, platform,
## flag, first-seen day).  Kind-specific parts are the defs at the bottom.
## Operator text is escaped by the default filter and isolated with <bdi> so
## bidi controls cannot reorder the text around it.  The largest flag pages
## list every relay: a relay's row is rendered once by relay_row(), which
## reads only its arguments, and its output reused (pages/rowcache.py) while
## the row object and the other arguments are the same; ``n`` only on that
## already-escaped output; its weight and total data are worded by pages/group_text.py
## (namespace gt) only when the row is rendered.  Small tables skip the cache (storing a row costs
## more than rendering it; most relays are on one small page per kind).
<%block name="title">${shown['heading']} ${label}</%block>\
## contact and family HTML views carry "uptime_chart" (None without uptime data); other views do not
<%block name="head">${ch.stylesheet() if context.get('uptime_chart') else ""}\
% if context.get('events'):
<link rel="alternate" type="application/atom+xml" title="Events of these relays" href="${context['events']['feed']}">
% endif
</%block>\
<link rel="stylesheet" href="${chrome['root']}static/groups.css">
<h1>${shown['heading']} <bdi>${label}</bdi></h1>
<p class="lead">${intro()}</p>
% if contact is not None:
${contact_section()}
% endif

<div class="grid">
<section>
<h2>Summary</h2>
<table class="kv">
<tr><th scope="row">Relays</th><td>${shown['running']}</td></tr>
<tr><th scope="row">Running by role</th><td>${shown['roles']}</td></tr>
<tr><th scope="row">Observed bandwidth</th><td>${summary['observed_bandwidth']}</td></tr>
<tr><th scope="row">Advertised bandwidth</th><td>${summary['advertised_bandwidth']}</td></tr>
<tr><th scope="row">Consensus weight</th><td>${shown['consensus_weight']}</td></tr>
<tr><th scope="row">Guard / middle / exit probability</th><td>${summary['guard_probability']} / ${summary['middle_probability']} / ${summary['exit_probability']}</td></tr>
% for u in shown['unique']:
<tr><th scope="row">${u['heading']}</th><td>${u['value']}</td></tr>
% endfor
<tr><th scope="row">First seen (oldest relay)</th><td>${summary['first_seen']}</td></tr>
</table>
<p class="note">Roles, bandwidth, weight and probabilities cover running relays.</p>
</section>

<section>
<h2>Software</h2>
<table class="kv">
<tr><th scope="row">Platforms</th><td><bdi>${shown['platforms']}</bdi></td></tr>
<tr><th scope="row">Versions</th><td><bdi>${shown['versions']}</bdi></td></tr>
</table>
% if history is not None:
${history_section()}
% endif
</section>
</div>
% if related:
${related_section()}
% endif
% if context.get('events'):
${events_section(context['events'])}
% endif

${relays_section(chrome['root'], history is not None, history is not None and kind in ('contact', 'family'))}\
<%def name="relays_section(root, show_uptime, show_data)">\
<section>
<h2>Relays</h2>
<div class="wide">
<table class="list">
<thead><tr><th>Nickname</th><th>Flags</th><th>CC</th><th>AS</th><th class="n">Observed</th><th class="n">Weight</th>\
% if show_uptime:
<th class="n">Uptime 6M</th>\
% endif
% if show_data:
<th class="n">Total data</th>\
% endif
</tr></thead>
<tbody>
% if rowcache.cache_rows(relays):
% for r in relays:
${rowcache.group(local.relay_row, r, root, show_uptime, show_data) | n}\
% endfor
% else:
% for r in relays:
${local.relay_row(r, root, show_uptime, show_data)}\
% endfor
% endif
</tbody>
</table>
</div>
<p class="note">Ordered by consensus weight. Relays that are not running are greyed out.</p>
</section>
</%def>\
<%def name="relay_row(r, root, show_uptime, show_data)">\
% if r['running']:
<tr>\
% else:
<tr class="d">\
% endif
<td><a href="${root}relay/${r['fingerprint']}/index.html">${r['nickname']}</a></td><td>${r['flags']}</td><td>${r['country'] or "–"}</td><td>${r['as'] or "–"}</td><td class="n">${r['bandwidth']}</td><td class="n">${gt.row_weight(r)}</td>\
% if show_uptime:
<td class="n">${r['uptime']}</td>\
% endif
% if show_data:
<td class="n">${gt.row_total_data(r)}</td>\
% endif
</tr>
</%def>\
<%def name="intro()">\
% if kind == 'family':
${shown['relays']} that list each other in their effective family.\
% elif kind == 'as':
Relays announced from ${id}.\
% elif kind == 'contact':
Relays that share this operator contact\
% if contact['aroi_domain']:
 (grouped by their AROI domain)\
% endif
.\
% elif kind == 'country':
Relays located in this country.\
% elif kind == 'platform':
Relays running on this operating system.\
% elif kind == 'flag':
Relays that carry the ${label} flag.\
% else:
Relays first seen on ${id} (UTC).\
% endif
</%def>\
<%def name="contact_section()">\
<section>
<h2>Contact</h2>
% if contact['aroi_domain']:
<p>AROI domain: <a href="${contact['aroi_url']}" rel="nofollow noopener noreferrer">${contact['aroi_domain']}</a></p>
% endif
% for text in contact['texts']:
<p class="contact"><bdi>${text}</bdi></p>
% endfor
</section>
% if contact['aroi'] is not None:
${aroi_section(contact['aroi'], shown['aroi'])}
% endif
</%def>\
<%def name="aroi_section(a, at)">\
<section id="aroi">
<h2>AROI validation</h2>
<table class="kv">
<tr><th scope="row">Status</th><td><span class="badge${" ok" if a['status'] == 'validated' else " warn" if a['status'] in ('unauthorized', 'misconfigured') else ""}">${a['label']}</span> ${a['explanation']}</td></tr>
<tr><th scope="row">Proof type</th><td>${at['proof_types']}</td></tr>
<tr><th scope="row">Relays by status</th><td>${at['counts']}</td></tr>
% for reason in at['reasons']:
<tr><th scope="row">${"Failure reasons" if loop.first else ""}</th><td>${reason}</td></tr>
% endfor
</table>
% if not a['validator_available']:
<p class="note">No AROI validator data yet: a complete AROI setup counts as unknown.</p>
% endif
% if a['validator_sample']:
<p class="note"><span class="badge sample">sample data</span> The AROI validator data is the bundled sample.</p>
% endif
% if a['validator_stale']:
<p class="note"><span class="badge warn">stale</span> The AROI validator data is older than its maximum age.</p>
% endif
<p class="note">From the AROI validator's latest run (its time is on the <a href="${chrome['root']}status.html">status page</a>); the operator is validated if any of its relays validates, else it gets its relays' worst status.</p>
</section>
</%def>\
<%def name="history_section()">\
<h2>Uptime\
% if kind in ('contact', 'family'):
 and traffic\
% endif
</h2>
<table class="kv">
% if history['uptime_available']:
<tr><th scope="row">Mean uptime (6 months)</th><td>${shown['history']['uptime']}</td></tr>
% else:
<tr><th scope="row">Uptime</th><td>no uptime data available</td></tr>
% endif
% if kind in ('contact', 'family'):
% if history['bandwidth_available']:
<tr><th scope="row">Total data</th><td>${shown['history']['total_data']}</td></tr>
% else:
<tr><th scope="row">Total data</th><td>no bandwidth history available</td></tr>
% endif
% endif
</table>
<% chart = context.get('uptime_chart') %>\
% if chart:
${ch.bar_chart(chart, "uptime-chart")}\
% if shown['chart_note']:
<p class="note">${shown['chart_note']}</p>
% endif
% endif
</%def>\
<%def name="related_section()">\
<section>
<h2>${"Families of this operator" if kind == 'contact' else "Contacts in this family"}</h2>
<ul class="related">
% for g, relays_text in zip(related, shown['related']):
<li><a href="${chrome['root']}${g['href']}"><bdi>${g['label']}</bdi></a> (${relays_text})</li>
% endfor
</ul>
</section>
</%def>\
<%def name="events_section(ev)">\
<section id="events">
<h2>Recent changes</h2>
% if ev['rollups']:
<ul class="events">
% for r in ev['rollups']:
<li>${r['text']}</li>
% endfor
</ul>
<h3>Latest events</h3>
<ul class="events">
% for e in ev['items']:
<li><time datetime="${e['time']}">${e['when']}</time> \
% if e['linked']:
<a href="${chrome['root']}relay/${e['fp']}/index.html">${e['nickname'] or e['fp']}</a>\
% else:
${e['nickname'] or e['fp']}\
% endif
: ${e['text']}</li>
% endfor
</ul>
% else:
<p>No change recorded for these relays yet.</p>
% endif
<p class="note">Changes grouped by hour, newest first; every event of these relays: <a href="${ev['feed']}">Atom feed</a>.\
% if ev['metrics']:
 The operator's relays as the network sees them: <a href="${ev['metrics']}">metrics.txt</a> (OpenMetrics).\
% endif
</p>
</section>
</%def>\

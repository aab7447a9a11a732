<%inherit file="base.mako"/>\
## The network's notable changes (alliumd's history store), newest first.
<%block name="title">Network events</%block>\
<%block name="head"><link rel="alternate" type="application/atom+xml" title="Network events" href="${chrome['root']}${feed}">
</%block>\
<h1>Network events</h1>
<p class="lead">What changed in the network, when: swings in the number of running relays, large families or
autonomous systems going down, directory authorities changing their flag thresholds, and consensus-health notices.
Subscribe: <a href="${chrome['root']}${feed}">Atom feed</a>. Every relay, operator and family page has its own feed.</p>
% if not available:
<p class="note">No history yet: events are recorded from the second details publication alliumd sees.</p>
% elif started:
<p class="note">History recorded since ${started}.</p>
% endif
% if kinds:
<section>
<h2>Relay events in the last 24 hours of data</h2>
<table class="list">
<thead><tr><th>What</th><th class="n">Events</th></tr></thead>
<tbody>
% for k in kinds:
<tr><td>${k['label']}</td><td class="n">${k['count']}</td></tr>
% endfor
</tbody>
</table>
</section>
% endif
<section>
<h2>Notable changes</h2>
% if events:
<ul class="events">
% for e in events:
<li><time datetime="${e['time']}">${e['when']}</time> ${e['text']}</li>
% endfor
</ul>
% else:
<p>No notable network change recorded.</p>
% endif
</section>

<%inherit file="base.mako"/>\
<%namespace name="lb" file="_leaderboards.mako"/>\
<%block name="title">Network overview</%block>\
<h1>Tor network overview</h1>
<p class="lead">Relays published ${published}.
<a href="${chrome['root']}${links['health']}">Network health</a> ·
<a href="${chrome['root']}${links['top']}">Top relays</a> ·
<a href="${chrome['root']}relays/all.html">All relays</a> ·
<a href="${chrome['root']}status.html">Source status</a> ·
<a href="#roles">Relays by role</a> ·
<a href="#aroi">AROI leaderboards</a> (after the overview)</p>
<nav class="lists" aria-label="Relay groups">Browse by:
% for item in links['lists']:
<a href="${chrome['root']}${item['path']}">${item['label']}</a>${" ·" if not loop.last else ""}
% endfor
</nav>
% if summary['relays_truncated']:
<p class="note">This document is truncated: ${summary['relays_truncated_text']} further relays were left out by the source.</p>
% endif

## The network overview comes first; the 19 AROI leaderboards (thousands of pixels) follow it.
<section>
<h2>Relays</h2>
<div class="cards">
<div class="card"><span class="big">${summary['relays_running_text']}</span> running</div>
<div class="card"><span class="big">${summary['relays_total_text']}</span> listed</div>
<div class="card"><span class="big">${summary['countries_text']}</span> countries</div>
<div class="card"><span class="big">${summary['as_count_text']}</span> autonomous systems</div>
</div>
</section>

<section id="roles">
<h2>Running relays by role</h2>
<p class="note">Each relay counts once: exit before guard before middle.</p>
<table>
<thead><tr><th>Role</th><th class="n">Relays</th><th class="n">Advertised bandwidth</th><th class="n">Observed bandwidth</th></tr></thead>
<tbody>
% for role in summary['roles']:
<tr><td>${role['label']}</td><td class="n">${role['count_text']}</td><td class="n">${role['advertised_bandwidth_text']}</td><td class="n">${role['observed_bandwidth_text']}</td></tr>
% endfor
</tbody>
<tfoot><tr><th scope="row">All</th><td class="n">${summary['relays_running_text']}</td><td class="n">${summary['advertised_bandwidth_text']}</td><td class="n">${summary['observed_bandwidth_text']}</td></tr></tfoot>
</table>
</section>

<section>
<h2>Running relays by flag</h2>
<table>
<thead><tr><th>Flag</th><th class="n">Relays</th></tr></thead>
<tbody>
% for f in summary['flags']:
<tr><td>${f['flag']}</td><td class="n">${f['count_text']}</td></tr>
% endfor
</tbody>
</table>
</section>

<section>
<h2>Top relays by consensus weight</h2>
% if summary['top_relays']:
<table>
<thead><tr><th class="n">#</th><th>Nickname</th><th>Role</th><th>Country</th><th class="n">Observed</th><th class="n">Consensus weight</th><th class="n">Share</th></tr></thead>
<tbody>
% for r in summary['top_relays']:
<tr><td class="n">${loop.index + 1}</td><td>${self.relay_link(r['path'], r['nickname'])}</td><td>${r['role']}</td><td>${r['country_code'] or "–"}</td><td class="n">${r['observed_bandwidth_text']}</td><td class="n">${r['consensus_weight_text']}</td><td class="n">${r['consensus_weight_fraction_text']}</td></tr>
% endfor
</tbody>
</table>
% else:
<p>No running relays in this document.</p>
% endif
</section>

<section id="aroi">
<h2>AROI operator leaderboards</h2>
<p class="note">${leaderboards['lead']}
Operators are grouped by their AROI domain (Authenticated Relay Operator ID) when their contact has one.
<a href="${chrome['root']}${leaderboards_path}">All boards on one page</a></p>
${lb.note(leaderboards['inputs'])}\
${lb.overview(leaderboards['overview'], "lb-")}\
${lb.toc(leaderboards['categories'], "lb-")}\
${lb.sections(leaderboards['categories'], "lb-", "h3")}\
</section>
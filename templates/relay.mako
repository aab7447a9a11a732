<%inherit file="base.mako"/>\
<%namespace name="ch" file="charts.mako"/>\
<%namespace name="fr" file="fragment.mako"/>\
## About 10k of these per build: rows are inlined and helpers are plain
## functions (a Mako def call costs several times a function call).
<% r = relay %><% t = shown %><% root = chrome['root'] %><% relay_events = events %>\
<%block name="title">Relay ${relay['nickname']}</%block>\
<%block name="head">${ch.stylesheet()}
<link rel="alternate" type="application/atom+xml" title="Events of this relay" href="${events['feed']}">
</%block>\
<h1>${r['nickname']} <span class="fp">${r['fingerprint']}</span></h1>
<p class="lead">
% if r['running']:
<span class="badge ok">running</span>
% else:
<span class="badge warn">not running</span>
% endif
Role: ${t['roles']}.
<span class="state">${"UP" if r['state'] == "up" else "DOWN"} for ${r['state_duration']}</span> \
<span class="note">(${"since its last restart" if r['state'] == "up" else "since last seen"}, ${r['state_since']}, counted to the data's publication)</span></p>

<section>
<h2>Health status</h2>
% if diagnostics:
<ul class="diag">
% for d in diagnostics:
<li class="${d['severity']}"><b>${d['severity']}</b> ${d['text']}</li>
% endfor
</ul>
% else:
<p class="good">No problems found in the available data.</p>
% endif
</section>

<div class="grid">
<section id="events">
<h2>Recent events</h2>
% if relay_events['items']:
<ul class="events">
% for e in relay_events['items']:
<li><time datetime="${e['time']}">${e['when']}</time> ${e['text']}</li>
% endfor
</ul>
% else:
<p>No change recorded for this relay yet.</p>
% endif
<p class="note">What changed and when, newest first (at most 50), with the authorities' reasons for flag changes where their votes show them: <a href="${relay_events['feed']}">Atom feed</a>.
The relay as the network sees it, for a Prometheus scraper next to its MetricsPort: <a href="${relay_events['metrics']}">metrics.txt</a> (OpenMetrics).</p>
</section>

<section>
<h2>Connectivity and location</h2>
<table class="kv">
<tr><th scope="row">IPv4 OR</th><td>${t['ipv4']}</td></tr>
<tr><th scope="row">IPv6 OR</th><td>${t['ipv6']}</td></tr>
<tr><th scope="row">Unreachable OR</th><td>${t['unreachable']}</td></tr>
<tr><th scope="row">Exit addresses</th><td>${t['exits']}</td></tr>
<tr><th scope="row">Dir address</th><td>${t['dir_address']}</td></tr>
<tr><th scope="row">Host names</th><td>${t['host_names']}</td></tr>
<tr><th scope="row">Country</th><td>\
% if links['country']:
<a href="${root}${links['country']}">${t['country']}</a>\
% else:
${t['country']}\
% endif
</td></tr>
<tr><th scope="row">Region</th><td>${t['region']}</td></tr>
<tr><th scope="row">City</th><td>${t['city']}</td></tr>
<tr><th scope="row">Coordinates</th><td>${t['coordinates']}</td></tr>
<tr><th scope="row">AS</th><td>\
% if links['as']:
<a href="${root}${links['as']}">${t['as']}</a>\
% else:
${t['as']}\
% endif
</td></tr>
% if extras and extras['as_rarity']:
<tr><th scope="row">AS rarity</th><td>${extras['as_rarity']['text']} <span class="d">(${extras['as_rarity']['detail']})</span></td></tr>
% endif
</table>
<p class="note">Region, city and coordinates are Onionoo's GeoIP guesses. AS rarity is the leaderboards' score: 0–3 for a small share of the consensus weight, 0–2 for few operators in the AS.</p>
</section>

<section>
<h2>Flags</h2>
<p class="flags">\
% for f in links['flags']:
% if f['path']:
<a href="${root}${f['path']}">${f['flag']}</a> \
% else:
<span>${f['flag']}</span> \
% endif
% endfor
% if not links['flags']:
No flags.\
% endif
</p>
<table class="kv">
<tr><th scope="row">Measured</th><td>${t['measured']}</td></tr>
<tr><th scope="row">Hibernating</th><td>${t['hibernating']}</td></tr>
</table>
<p class="note"><a href="#consensus">Per-authority votes and flag eligibility</a> are in the consensus evaluation below.</p>
</section>
</div>

<section>
<h2>Bandwidth</h2>
<div class="grid">
<table class="kv">
<tr><th scope="row">Observed</th><td>${r['observed_bandwidth_text']}</td></tr>
<tr><th scope="row">Advertised</th><td>${r['advertised_bandwidth_text']}</td></tr>
<tr><th scope="row">Rate limit</th><td>${r['bandwidth_rate_text']}</td></tr>
<tr><th scope="row">Burst limit</th><td>${r['bandwidth_burst_text']}</td></tr>
</table>
<table class="kv">
<tr><th scope="row">Consensus weight</th><td>${t['consensus_weight']}</td></tr>
<tr><th scope="row">Share of network</th><td>${t['weight_share']}</td></tr>
<tr><th scope="row">Guard probability</th><td>${t['guard']}</td></tr>
<tr><th scope="row">Middle probability</th><td>${t['middle']}</td></tr>
<tr><th scope="row">Exit probability</th><td>${t['exit']}</td></tr>
</table>
</div>
<p class="note">Percentiles rank this relay among running relays; for a probability, among the relays that can be picked for that position.</p>
% if traffic:
<table>
<thead><tr><th>Period</th><th class="n">Read (mean)</th><th class="n">Written (mean)</th><th class="n">Data</th></tr></thead>
<tbody>
% for p in traffic['periods']:
<tr><td>${p['label']}</td><td class="n">${p['read_text']}</td><td class="n">${p['write_text']}</td><td class="n">${p['total_text']}</td></tr>
% endfor
</tbody>
</table>
% if traffic['total_data_period']:
<p>Total data relayed: ${traffic['total_data_text']} (read and written, ${traffic['total_data_period_label']}).</p>
% endif
% else:
<p class="note">No bandwidth history data.</p>
% endif
</section>

<section>
<h2>Uptime and stability</h2>
% if uptime:
<table>
<thead><tr><th>Period</th><th class="n">Uptime</th><th class="n">${uptime['flag'] or "Flag"} flag uptime</th></tr></thead>
<tbody>
% for p in uptime['periods']:
<tr><td>${p['label']}</td><td class="n">${p['uptime_text']}</td><td class="n">${p['flag_uptime_text']}</td></tr>
% endfor
</tbody>
</table>
% if uptime['outlier']:
<p class="note">The 6-month uptime is a statistical ${uptime['outlier']} outlier (two standard deviations from the network mean).</p>
% endif
% else:
<p class="note">No uptime data.</p>
% endif
<table class="kv">
<tr><th scope="row">First seen</th><td>\
% if links['first_seen']:
<a href="${root}${links['first_seen']}">${t['first_seen']}</a>\
% else:
${t['first_seen']}\
% endif
</td></tr>
<tr><th scope="row">Last seen</th><td>${t['last_seen']}</td></tr>
<tr><th scope="row">Last restarted</th><td>${t['last_restarted']}</td></tr>
<tr><th scope="row">Address changed</th><td>${t['address_changed']}</td></tr>
</table>
</section>

<section>
<h2>History</h2>
<%fr:reusable f="${charts}" args="charts">
% if charts:
<div class="charts">
% for c in charts:
${ch.time_chart(c, "h" + c['period'])}\
% endfor
</div>
% else:
<p class="note">No bandwidth or uptime history data.</p>
% endif
</%fr:reusable>
</section>

<section>
<h2>Operator and family</h2>
% if r['contact']:
<p class="contact">${r['contact']}</p>
% else:
<p>No contact information given.</p>
% endif
<p>AROI domain: ${aroi_domain or "none (no CIISS proof and url)"}.\
% if links['contact']:
 <a href="${root}${links['contact']}">All relays of this operator</a>\
% endif
</p>
<% av = aroi_validation %>\
<p class="aroi">AROI validation: <b>${av['text']}</b>\
% if av['proof_type']:
 (${av['proof_type']} proof)\
% endif
% if av['missing']:
; missing: ${t['aroi_missing']}\
% endif
% if av['reason']:
; ${av['reason']}\
% endif
.\
% if not av['validator_available']:
 <span class="badge warn">no validator data</span>\
% endif
% if av['stale']:
 <span class="badge warn">stale</span>\
% endif
% if av['sample']:
 <span class="badge sample">sample data</span>\
% endif
</p>
% if av['error']:
<p class="note">Validator: ${av['error']}</p>
% endif
% if family:
<p>${r['family_size']} relays in the effective family (including this one).\
% if links['family']:
 <a href="${root}${links['family']}">Family page</a>\
% endif
</p>
% if family_note:
<p class="note">${family_note}</p>
% endif
<ul class="family">
% for m in family:
% if m['present']:
<li><a href="${root}relay/${m['fingerprint']}/index.html">${m['nickname']}</a> <span class="fp">${m['fingerprint']}</span>\
% else:
<li><span class="fp">${m['fingerprint']}</span>\
% endif
% if m['note']:
 <span class="note">(${m['note']})</span>\
% endif
</li>
% endfor
</ul>
% if t['family_more']:
<p class="note">${t['family_more']}</p>
% endif
% else:
<p>No effective family.</p>
% endif
% if extras:
<p>Family support: <b>${extras['family_support_text']}</b>.\
% if extras['family_ids']:
 Happy Families key: <span class="fp">${t['family_ids']}</span>.\
% endif
</p>
% for group in t['also_members']:
<p>${group['heading']}</p>
<ul class="family">
% for m in group['members']:
% if m['present']:
<li><a href="${root}relay/${m['fingerprint']}/index.html">${m['nickname']}</a> <span class="fp">${m['fingerprint']}</span></li>
% else:
<li><span class="fp">${m['fingerprint']}</span> <span class="note">(no page on this site)</span></li>
% endif
% endfor
</ul>
% if group['more']:
<p class="note">${group['more']}</p>
% endif
% endfor
% endif
</section>

<div class="grid">
<section>
<h2>Software and version</h2>
<table class="kv">
<tr><th scope="row">Platform</th><td>${t['platform']}</td></tr>
<tr><th scope="row">Version</th><td>${t['version']}</td></tr>
<tr><th scope="row">Version status</th><td>${t['version_status']}</td></tr>
<tr><th scope="row">Recommended</th><td>${t['recommended']}</td></tr>
</table>
</section>

<section>
<h2>Overload</h2>
<% o = t['overload'] %>\
<table class="kv">
<tr><th scope="row">General overload</th><td>${o['general']}</td></tr>
<tr><th scope="row">Rate limit reached</th><td>${o['ratelimits']}</td></tr>
% if o['limits']:
<tr><th scope="row">Rate / burst limit</th><td>${o['limits']}</td></tr>
<tr><th scope="row">Read / write overloads</th><td>${o['counts']}</td></tr>
% endif
<tr><th scope="row">File descriptors exhausted</th><td>${o['fd_exhausted']}</td></tr>
</table>
</section>
</div>

<section>
<h2>Exit policy</h2>
<table class="kv">
<tr><th scope="row">Summary</th><td>${t['exit_policy_summary']}</td></tr>
<tr><th scope="row">IPv6 summary</th><td>${t['exit_policy_v6_summary']}</td></tr>
</table>
% if r['exit_policy']:
<pre class="policy">${t['exit_policy']}</pre>
% endif
</section>

<% ce = consensus_evaluation %><% ct = t['consensus'] %>\
<section id="consensus">
<h2>Consensus evaluation</h2>
% if not ce['available']:
<p class="note">No CollecTor vote data: the collector source is not enabled or has not fetched anything yet.</p>
% else:
<p>Votes for the consensus valid after ${ce['valid_after']} UTC (consensus method ${ct['method']}): \
${ce['votes']} of ${ce['voters']} voting authorities' votes are available; a majority is ${ct['majority']}.\
% if ce['stale']:
 <span class="badge warn">stale</span>\
% endif
</p>
% if ce['consensus']:
<p>In the consensus with the flags ${ct['flags']} and weight ${ce['consensus']['weight_text']}\
${" (Unmeasured: too few bandwidth measurements)" if ce['consensus']['unmeasured'] else ""}; listed by ${ce['listed_by']} of the votes.</p>
% else:
<p><b>Not in the consensus</b>; listed by ${ce['listed_by']} of the votes.</p>
% endif
% if ce['flags']:
<table>
<caption>Flag votes (a flag needs more than half of the authorities that list the relay and vote on that flag)</caption>
<thead><tr><th>Flag</th><th class="n">Votes</th><th class="n">Of</th><th class="n">Needed</th><th>In consensus</th></tr></thead>
<tbody>
% for f in ct['flag_votes']:
<tr><td>${f['flag']}</td><td class="n">${f['votes']}</td><td class="n">${f['electorate']}</td><td class="n">${f['needed']}</td><td>${f['in_consensus']}</td></tr>
% endfor
</tbody>
</table>
% endif
% if ce['authorities']:
<div class="wide"><table>
<caption>Per-authority votes</caption>
<thead><tr><th>Authority</th><th>Flags</th><th class="n">Bandwidth</th><th class="n">Measured</th><th class="n">WFU</th><th class="n">Time known</th><th class="n">MTBF</th><th>IPv6</th><th>Descriptor</th><th>Bandwidth file</th></tr></thead>
<tbody>
% for a in ct['authorities']:
% if a['state'] == 'voted':
<tr><td>${a['nickname']}</td><td>${a['flags']}</td><td class="n">${a['bandwidth']}</td><td class="n">${a['measured']}</td><td class="n">${a['wfu']}</td><td class="n">${a['tk']}</td><td class="n">${a['mtbf']}</td><td>${a['ipv6']}</td><td>${a['published']}</td><td>${a['bandwidth_file']}</td></tr>
% else:
<tr><td>${a['nickname']}</td><td>${a['state']}</td><td class="n">–</td><td class="n">–</td><td class="n">–</td><td class="n">–</td><td class="n">–</td><td>–</td><td>–</td><td>${a['bandwidth_file']}</td></tr>
% endif
% endfor
</tbody>
</table></div>
<div class="wide"><table>
<caption>Flag eligibility by authority, against each vote's own flag-thresholds</caption>
<thead><tr><th>Authority</th><th>Guard</th><th>Stable</th><th>Fast</th><th>HSDir</th></tr></thead>
<tbody>
% for a in ct['eligibility']:
<tr><td>${a['nickname']}</td>\
% for cell in a['cells']:
<td>${cell}</td>\
% endfor
</tr>
% endfor
</tbody>
</table></div>
% endif
% if ce['bandwidth']:
<p>Measured by ${ce['bandwidth']['measured_by']} of ${ce['bandwidth']['bwauths']} bandwidth authorities; median measurement ${ce['bandwidth']['median_measured']}, median self-reported ${ce['bandwidth']['median_reported']}.</p>
% endif
% if ce['authorities'] and not ce['stats_present']:
<p class="note">These votes carry no WFU, time-known or MTBF figures (no <code>stats</code> lines), so requirements on them show as unknown.</p>
% endif
<p class="note">Requirements follow tor's directory authority code: Fast needs the fast-speed bandwidth; Stable an MTBF of stable-mtbf (or 5 days); Guard needs Fast, Stable, V2Dir, 16 Mbit/s or the guard bandwidth threshold, guard-wfu and guard-tk; HSDir needs Stable, Fast and V2Dir, and its uptime requirement is estimated from WFU (98%) and time known (25 hours). Bandwidth is the authority's measurement when it has one.</p>
% endif
</section>

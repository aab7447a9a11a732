<%inherit file="base.mako"/>\
<%namespace name="ch" file="charts.mako"/>\
<%namespace name="fr" file="fragment.mako"/>\
## About 10k of these per build: rows are inlined and helpers are plain
## functions (a Mako def call costs several times a function call).
## No top-level <% name = ... %> aliases: each makes Mako keep a locals() dict that refers to itself,
## which kept the page's view alive until a collection (tests/test_template_cycles.py).
<%block name="title">Relay ${relay['nickname']}</%block>\
<%block name="head">${ch.stylesheet()}
<link rel="alternate" type="application/atom+xml" title="Events of this relay" href="${events['feed']}">
</%block>\
<h1>${relay['nickname']} <span class="fp">${relay['fingerprint']}</span></h1>
<p class="lead">
% if relay['running']:
<span class="badge ok">running</span>
% else:
<span class="badge warn">not running</span>
% endif
Role: ${shown['roles']}.
<span class="state">${"UP" if relay['state'] == "up" else "DOWN"} for ${relay['state_duration']}</span> \
<span class="note">(${"since its last restart" if relay['state'] == "up" else "since last seen"}, ${relay['state_since']}, counted to the data's publication)</span></p>

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
% if events['items']:
<ul class="events">
% for e in events['items']:
<li><time datetime="${e['time']}">${e['when']}</time> ${e['text']}</li>
% endfor
</ul>
% else:
<p>No change recorded for this relay yet.</p>
% endif
<p class="note">What changed and when, newest first (at most 50), with the authorities' reasons for flag changes where their votes show them: <a href="${events['feed']}">Atom feed</a>.
The relay as the network sees it, for a Prometheus scraper next to its MetricsPort: <a href="${events['metrics']}">metrics.txt</a> (OpenMetrics).</p>
</section>

<section>
<h2>Connectivity and location</h2>
<table class="kv">
<tr><th scope="row">IPv4 OR</th><td>${shown['ipv4']}</td></tr>
<tr><th scope="row">IPv6 OR</th><td>${shown['ipv6']}</td></tr>
<tr><th scope="row">Unreachable OR</th><td>${shown['unreachable']}</td></tr>
<tr><th scope="row">Exit addresses</th><td>${shown['exits']}</td></tr>
<tr><th scope="row">Dir address</th><td>${shown['dir_address']}</td></tr>
<tr><th scope="row">Host names</th><td>${shown['host_names']}</td></tr>
<tr><th scope="row">Country</th><td>\
% if links['country']:
<a href="${chrome['root']}${links['country']}">${shown['country']}</a>\
% else:
${shown['country']}\
% endif
</td></tr>
<tr><th scope="row">Region</th><td>${shown['region']}</td></tr>
<tr><th scope="row">City</th><td>${shown['city']}</td></tr>
<tr><th scope="row">Coordinates</th><td>${shown['coordinates']}</td></tr>
<tr><th scope="row">AS</th><td>\
% if links['as']:
<a href="${chrome['root']}${links['as']}">${shown['as']}</a>\
% else:
${shown['as']}\
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
<a href="${chrome['root']}${f['path']}">${f['flag']}</a> \
% else:
<span>${f['flag']}</span> \
% endif
% endfor
% if not links['flags']:
No flags.\
% endif
</p>
<table class="kv">
<tr><th scope="row">Measured</th><td>${shown['measured']}</td></tr>
<tr><th scope="row">Hibernating</th><td>${shown['hibernating']}</td></tr>
</table>
<p class="note"><a href="#consensus">Per-authority votes and flag eligibility</a> are in the consensus evaluation below.</p>
</section>
</div>

<section>
<h2>Bandwidth</h2>
<div class="grid">
<table class="kv">
<tr><th scope="row">Observed</th><td>${relay['observed_bandwidth_text']}</td></tr>
<tr><th scope="row">Advertised</th><td>${relay['advertised_bandwidth_text']}</td></tr>
<tr><th scope="row">Rate limit</th><td>${relay['bandwidth_rate_text']}</td></tr>
<tr><th scope="row">Burst limit</th><td>${relay['bandwidth_burst_text']}</td></tr>
</table>
<table class="kv">
<tr><th scope="row">Consensus weight</th><td>${shown['consensus_weight']}</td></tr>
<tr><th scope="row">Share of network</th><td>${shown['weight_share']}</td></tr>
<tr><th scope="row">Guard probability</th><td>${shown['guard']}</td></tr>
<tr><th scope="row">Middle probability</th><td>${shown['middle']}</td></tr>
<tr><th scope="row">Exit probability</th><td>${shown['exit']}</td></tr>
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
<a href="${chrome['root']}${links['first_seen']}">${shown['first_seen']}</a>\
% else:
${shown['first_seen']}\
% endif
</td></tr>
<tr><th scope="row">Last seen</th><td>${shown['last_seen']}</td></tr>
<tr><th scope="row">Last restarted</th><td>${shown['last_restarted']}</td></tr>
<tr><th scope="row">Address changed</th><td>${shown['address_changed']}</td></tr>
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
% if relay['contact']:
<p class="contact">${relay['contact']}</p>
% else:
<p>No contact information given.</p>
% endif
<p>AROI domain: ${aroi_domain or "none (no CIISS proof and url)"}.\
% if links['contact']:
 <a href="${chrome['root']}${links['contact']}">All relays of this operator</a>\
% endif
</p>
<p class="aroi">AROI validation: <b>${aroi_validation['text']}</b>\
% if aroi_validation['proof_type']:
 (${aroi_validation['proof_type']} proof)\
% endif
% if aroi_validation['missing']:
; missing: ${shown['aroi_missing']}\
% endif
% if aroi_validation['reason']:
; ${aroi_validation['reason']}\
% endif
.\
% if not aroi_validation['validator_available']:
 <span class="badge warn">no validator data</span>\
% endif
% if aroi_validation['stale']:
 <span class="badge warn">stale</span>\
% endif
% if aroi_validation['sample']:
 <span class="badge sample">sample data</span>\
% endif
</p>
% if aroi_validation['error']:
<p class="note">Validator: ${aroi_validation['error']}</p>
% endif
% if family:
<p>${relay['family_size']} relays in the effective family (including this one).\
% if links['family']:
 <a href="${chrome['root']}${links['family']}">Family page</a>\
% endif
</p>
% if family_note:
<p class="note">${family_note}</p>
% endif
<ul class="family">
% for m in family:
% if m['present']:
<li><a href="${chrome['root']}relay/${m['fingerprint']}/index.html">${m['nickname']}</a> <span class="fp">${m['fingerprint']}</span>\
% else:
<li><span class="fp">${m['fingerprint']}</span>\
% endif
% if m['note']:
 <span class="note">(${m['note']})</span>\
% endif
</li>
% endfor
</ul>
% if shown['family_more']:
<p class="note">${shown['family_more']}</p>
% endif
% else:
<p>No effective family.</p>
% endif
% if extras:
<p>Family support: <b>${extras['family_support_text']}</b>.\
% if extras['family_ids']:
 Happy Families key: <span class="fp">${shown['family_ids']}</span>.\
% endif
</p>
% for group in shown['also_members']:
<p>${group['heading']}</p>
<ul class="family">
% for m in group['members']:
% if m['present']:
<li><a href="${chrome['root']}relay/${m['fingerprint']}/index.html">${m['nickname']}</a> <span class="fp">${m['fingerprint']}</span></li>
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
<tr><th scope="row">Platform</th><td>${shown['platform']}</td></tr>
<tr><th scope="row">Version</th><td>${shown['version']}</td></tr>
<tr><th scope="row">Version status</th><td>${shown['version_status']}</td></tr>
<tr><th scope="row">Recommended</th><td>${shown['recommended']}</td></tr>
</table>
</section>

<section>
<h2>Overload</h2>
<table class="kv">
<tr><th scope="row">General overload</th><td>${shown['overload']['general']}</td></tr>
<tr><th scope="row">Rate limit reached</th><td>${shown['overload']['ratelimits']}</td></tr>
% if shown['overload']['limits']:
<tr><th scope="row">Rate / burst limit</th><td>${shown['overload']['limits']}</td></tr>
<tr><th scope="row">Read / write overloads</th><td>${shown['overload']['counts']}</td></tr>
% endif
<tr><th scope="row">File descriptors exhausted</th><td>${shown['overload']['fd_exhausted']}</td></tr>
</table>
</section>
</div>

<section>
<h2>Exit policy</h2>
<table class="kv">
<tr><th scope="row">Summary</th><td>${shown['exit_policy_summary']}</td></tr>
<tr><th scope="row">IPv6 summary</th><td>${shown['exit_policy_v6_summary']}</td></tr>
</table>
% if relay['exit_policy']:
<pre class="policy">${shown['exit_policy']}</pre>
% endif
</section>

<section id="consensus">
<h2>Consensus evaluation</h2>
% if not consensus_evaluation['available']:
<p class="note">No CollecTor vote data: the collector source is not enabled or has not fetched anything yet.</p>
% else:
<p>Votes for the consensus valid after ${consensus_evaluation['valid_after']} UTC (consensus method ${shown['consensus']['method']}): \
${consensus_evaluation['votes']} of ${consensus_evaluation['voters']} voting authorities' votes are available; a majority is ${shown['consensus']['majority']}.\
% if consensus_evaluation['stale']:
 <span class="badge warn">stale</span>\
% endif
</p>
% if consensus_evaluation['consensus']:
<p>In the consensus with the flags ${shown['consensus']['flags']} and weight ${consensus_evaluation['consensus']['weight_text']}\
${" (Unmeasured: too few bandwidth measurements)" if consensus_evaluation['consensus']['unmeasured'] else ""}; listed by ${consensus_evaluation['listed_by']} of the votes.</p>
% else:
<p><b>Not in the consensus</b>; listed by ${consensus_evaluation['listed_by']} of the votes.</p>
% endif
% if consensus_evaluation['flags']:
<table>
<caption>Flag votes (a flag needs more than half of the authorities that list the relay and vote on that flag)</caption>
<thead><tr><th>Flag</th><th class="n">Votes</th><th class="n">Of</th><th class="n">Needed</th><th>In consensus</th></tr></thead>
<tbody>
% for f in shown['consensus']['flag_votes']:
<tr><td>${f['flag']}</td><td class="n">${f['votes']}</td><td class="n">${f['electorate']}</td><td class="n">${f['needed']}</td><td>${f['in_consensus']}</td></tr>
% endfor
</tbody>
</table>
% endif
% if consensus_evaluation['authorities']:
<div class="wide"><table>
<caption>Per-authority votes</caption>
<thead><tr><th>Authority</th><th>Flags</th><th class="n">Bandwidth</th><th class="n">Measured</th><th class="n">WFU</th><th class="n">Time known</th><th class="n">MTBF</th><th>IPv6</th><th>Descriptor</th><th>Bandwidth file</th></tr></thead>
<tbody>
% for a in shown['consensus']['authorities']:
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
% for a in shown['consensus']['eligibility']:
<tr><td>${a['nickname']}</td>\
% for cell in a['cells']:
<td>${cell}</td>\
% endfor
</tr>
% endfor
</tbody>
</table></div>
% endif
% if consensus_evaluation['bandwidth']:
<p>Measured by ${consensus_evaluation['bandwidth']['measured_by']} of ${consensus_evaluation['bandwidth']['bwauths']} bandwidth authorities; median measurement ${consensus_evaluation['bandwidth']['median_measured']}, median self-reported ${consensus_evaluation['bandwidth']['median_reported']}.</p>
% endif
% if consensus_evaluation['authorities'] and not consensus_evaluation['stats_present']:
<p class="note">These votes carry no WFU, time-known or MTBF figures (no <code>stats</code> lines), so requirements on them show as unknown.</p>
% endif
<p class="note">Requirements follow tor's directory authority code: Fast needs the fast-speed bandwidth; Stable an MTBF of stable-mtbf (or 5 days); Guard needs Fast, Stable, V2Dir, 16 Mbit/s or the guard bandwidth threshold, guard-wfu and guard-tk; HSDir needs Stable, Fast and V2Dir, and its uptime requirement is estimated from WFU (98%) and time known (25 hours). Bandwidth is the authority's measurement when it has one.</p>
% endif
</section>

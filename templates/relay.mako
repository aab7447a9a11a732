<%inherit file="base.mako"/>\
<%namespace name="ch" file="charts.mako"/>\
## About 10k of these per build: rows are inlined and helpers are plain
## functions (a Mako def call costs several times a function call).
<%!
    from alliumd.model.format import MISSING, count
    from alliumd.model.percentiles import ordinal

    # Plain-text helpers (their results are escaped like any other value).
    def v(value):
        return MISSING if value is None or value == "" else value

    def yesno(value):
        return "unknown" if value is None else ("yes" if value else "no")

    def with_ago(relay, key):
        ago = relay[key + "_ago"]
        return relay[key] if ago == MISSING else "%s (%s)" % (relay[key], ago)

    def join_present(*parts):
        return " ".join(p for p in parts if p) or MISSING

    def with_rank(text, rank):
        return text if rank is None else "%s (%s percentile)" % (text, ordinal(rank))
%>\
<% r = relay %><% root = chrome['root'] %>\
<%block name="title">Relay ${relay['nickname']}</%block>\
<%block name="head">${ch.stylesheet()}</%block>\
<h1>${r['nickname']} <span class="fp">${r['fingerprint']}</span></h1>
<p class="lead">
% if r['running']:
<span class="badge ok">running</span>
% else:
<span class="badge warn">not running</span>
% endif
Role: ${", ".join(r['roles'])}.</p>

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
<section>
<h2>Connectivity and location</h2>
<table class="kv">
<tr><th scope="row">IPv4 OR</th><td>${v(", ".join(r['ipv4_addresses']))}</td></tr>
<tr><th scope="row">IPv6 OR</th><td>${v(", ".join(r['ipv6_addresses']))}</td></tr>
<tr><th scope="row">Unreachable OR</th><td>${v(", ".join(r['unreachable_or_addresses']))}</td></tr>
<tr><th scope="row">Exit addresses</th><td>${v(", ".join(r['exit_addresses']))}</td></tr>
<tr><th scope="row">Dir address</th><td>${v(r['dir_address'])}</td></tr>
<tr><th scope="row">Host names</th><td>${v(", ".join(r['verified_host_names']))}</td></tr>
<% country = join_present(r['country_name'], r['country_code'] and "(%s)" % r['country_code']) %>\
<tr><th scope="row">Country</th><td>\
% if links['country']:
<a href="${root}${links['country']}">${country}</a>\
% else:
${country}\
% endif
</td></tr>
<% as_text = join_present(r['as_number'], r['as_name']) %>\
<tr><th scope="row">AS</th><td>\
% if links['as']:
<a href="${root}${links['as']}">${as_text}</a>\
% else:
${as_text}\
% endif
</td></tr>
</table>
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
<tr><th scope="row">Measured</th><td>${yesno(r['measured'])}</td></tr>
<tr><th scope="row">Hibernating</th><td>${yesno(r['hibernating'])}</td></tr>
</table>
<p class="note">Flag eligibility and per-authority votes need the CollecTor source: not available yet.</p>
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
<tr><th scope="row">Consensus weight</th><td>${count(r['consensus_weight'])}</td></tr>
<tr><th scope="row">Share of network</th><td>${with_rank(r['consensus_weight_fraction_text'], percentiles['consensus_weight'])}</td></tr>
<tr><th scope="row">Guard probability</th><td>${with_rank(r['guard_probability_text'], percentiles['guard'])}</td></tr>
<tr><th scope="row">Middle probability</th><td>${with_rank(r['middle_probability_text'], percentiles['middle'])}</td></tr>
<tr><th scope="row">Exit probability</th><td>${with_rank(r['exit_probability_text'], percentiles['exit'])}</td></tr>
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
<a href="${root}${links['first_seen']}">${with_ago(r, 'first_seen')}</a>\
% else:
${with_ago(r, 'first_seen')}\
% endif
</td></tr>
<tr><th scope="row">Last seen</th><td>${with_ago(r, 'last_seen')}</td></tr>
<tr><th scope="row">Last restarted</th><td>${with_ago(r, 'last_restarted')}</td></tr>
<tr><th scope="row">Address changed</th><td>${with_ago(r, 'last_changed_address_or_port')}</td></tr>
</table>
</section>

<section>
<h2>History</h2>
% if charts:
<div class="charts">
% for c in charts:
${ch.time_chart(c, "h" + c['period'])}\
% endfor
</div>
% else:
<p class="note">No bandwidth or uptime history data.</p>
% endif
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
% if family:
<p>${r['family_size']} relays in the effective family (including this one).\
% if links['family']:
 <a href="${root}${links['family']}">Family page</a>\
% endif
</p>
<ul class="family">
% for m in family:
% if m['present']:
<li><a href="${root}relay/${m['fingerprint']}/index.html">${m['nickname']}</a> <span class="fp">${m['fingerprint']}</span></li>
% else:
<li><span class="fp">${m['fingerprint']}</span></li>
% endif
% endfor
</ul>
% if len(r['family']) > len(family):
<p class="note">${count(len(r['family']) - len(family))} more members are listed on the family page.</p>
% endif
% else:
<p>No effective family.</p>
% endif
</section>

<div class="grid">
<section>
<h2>Software and version</h2>
<table class="kv">
<tr><th scope="row">Platform</th><td>${v(r['platform'])}</td></tr>
<tr><th scope="row">Version</th><td>${v(r['version'])}</td></tr>
<tr><th scope="row">Version status</th><td>${v(r['version_status'])}</td></tr>
<tr><th scope="row">Recommended</th><td>${yesno(r['recommended_version'])}</td></tr>
</table>
</section>

<section>
<h2>Overload</h2>
<% o, fd, none = overload['ratelimits'], overload['fd_exhausted'], ("none reported" if traffic else "no bandwidth data") %>\
<table class="kv">
<tr><th scope="row">General overload</th><td>${r['overload_general'] or "none reported"}</td></tr>
<tr><th scope="row">Rate limit reached</th><td>${o['timestamp'] if o else none}</td></tr>
% if o:
<tr><th scope="row">Rate / burst limit</th><td>${o.get('rate_limit', MISSING)} / ${o.get('burst_limit', MISSING)}</td></tr>
<tr><th scope="row">Read / write overloads</th><td>${o.get('read_count', MISSING)} / ${o.get('write_count', MISSING)}</td></tr>
% endif
<tr><th scope="row">File descriptors exhausted</th><td>${fd['timestamp'] if fd else none}</td></tr>
</table>
</section>
</div>

<section>
<h2>Exit policy</h2>
<table class="kv">
<tr><th scope="row">Summary</th><td>${v(r['exit_policy_summary'])}</td></tr>
<tr><th scope="row">IPv6 summary</th><td>${v(r['exit_policy_v6_summary'])}</td></tr>
</table>
% if r['exit_policy']:
<pre class="policy">${"\n".join(r['exit_policy'])}</pre>
% endif
</section>

<%inherit file="base.mako"/>\
<%!
    # Plain-text helpers (their results are escaped like any other value).
    def yesno(value):
        return "unknown" if value is None else ("yes" if value else "no")

    def with_ago(relay, key):
        ago = relay[key + "_ago"]
        return relay[key] if ago == "–" else "%s (%s)" % (relay[key], ago)

    def join_present(*parts):
        return " ".join(p for p in parts if p)
%>\
<% r = relay %>\
<%block name="title">Relay ${relay['nickname']}</%block>\
<h1>${r['nickname']} <span class="fp">${r['fingerprint']}</span></h1>
<p class="lead">
% if r['running']:
<span class="badge ok">running</span>
% else:
<span class="badge warn">not running</span>
% endif
Role: ${", ".join(r['roles'])}. Data published ${published}.</p>

<div class="grid">
<section>
<h2>Identity</h2>
<table class="kv">
${self.kv("Nickname", r['nickname'])}
${self.kv("Fingerprint", r['fingerprint'])}
${self.kv("Flags", r['flags_text'])}
${self.kv("Measured", yesno(r['measured']))}
${self.kv("Hibernating", yesno(r['hibernating']))}
</table>
</section>

<section>
<h2>Addresses</h2>
<table class="kv">
${self.kv("IPv4 OR", ", ".join(r['ipv4_addresses']))}
${self.kv("IPv6 OR", ", ".join(r['ipv6_addresses']))}
${self.kv("Unreachable OR", ", ".join(r['unreachable_or_addresses']))}
${self.kv("Exit addresses", ", ".join(r['exit_addresses']))}
${self.kv("Dir address", r['dir_address'])}
${self.kv("Host names", ", ".join(r['verified_host_names']))}
${self.kv("Country", join_present(r['country_name'], r['country_code'] and "(%s)" % r['country_code']))}
${self.kv("AS", join_present(r['as_number'], r['as_name']))}
</table>
</section>

<section>
<h2>Bandwidth</h2>
<table class="kv">
${self.kv("Rate", r['bandwidth_rate_text'])}
${self.kv("Burst", r['bandwidth_burst_text'])}
${self.kv("Observed", r['observed_bandwidth_text'])}
${self.kv("Advertised", r['advertised_bandwidth_text'])}
</table>
</section>

<section>
<h2>Consensus weight</h2>
<table class="kv">
${self.kv("Weight", r['consensus_weight'])}
${self.kv("Share of network", r['consensus_weight_fraction_text'])}
${self.kv("Guard probability", r['guard_probability_text'])}
${self.kv("Middle probability", r['middle_probability_text'])}
${self.kv("Exit probability", r['exit_probability_text'])}
</table>
</section>

<section>
<h2>Software</h2>
<table class="kv">
${self.kv("Platform", r['platform'])}
${self.kv("Version", r['version'])}
${self.kv("Version status", r['version_status'])}
${self.kv("Recommended", yesno(r['recommended_version']))}
</table>
</section>

<section>
<h2>History</h2>
<table class="kv">
${self.kv("First seen", with_ago(r, 'first_seen'))}
${self.kv("Last seen", with_ago(r, 'last_seen'))}
${self.kv("Last restarted", with_ago(r, 'last_restarted'))}
${self.kv("Address changed", with_ago(r, 'last_changed_address_or_port'))}
${self.kv("Overload", r['overload_general'] or "none reported")}
</table>
</section>
</div>

<section>
<h2>Contact</h2>
% if r['contact']:
<p class="contact">${r['contact']}</p>
% else:
<p>No contact information given.</p>
% endif
</section>

<section>
<h2>Family</h2>
% if family:
<p>${r['family_size']} relays in the effective family (including this one).</p>
<ul class="family">
% for m in family:
% if m['present']:
<li>${self.relay_link(m['fingerprint'], m['nickname'])} <span class="fp">${m['fingerprint']}</span></li>
% else:
<li><span class="fp">${m['fingerprint']}</span></li>
% endif
% endfor
</ul>
% else:
<p>No effective family.</p>
% endif
</section>

<section>
<h2>Exit policy</h2>
<table class="kv">
${self.kv("Summary", r['exit_policy_summary'])}
${self.kv("IPv6 summary", r['exit_policy_v6_summary'])}
</table>
% if r['exit_policy']:
<pre class="policy">
% for line in r['exit_policy']:
${line}
% endfor
</pre>
% endif
</section>

<%inherit file="base.mako"/>\
<%block name="title">Directory authorities</%block>\
<h1>Directory authorities</h1>
% if not has_votes and not has_health:
<p class="lead">No directory authority data in this build. This page is built from
% for f in feeds:
${f['label']} (${f['state']})${" and" if not loop.last else "."}
% endfor
A disabled source is turned on in the <code>[sources]</code> table of the configuration; the
<a href="${chrome['root']}status.html">status page</a> shows each source's state.</p>
% else:
<p class="lead">Consensus valid after ${valid_after}; consensus method ${method};
${voters} voting authorities, ${signers} signatures, ${relays} relays, ${bandwidth_authorities} bandwidth authorities.</p>
% if not has_votes:
<p class="note">No CollecTor votes yet: the vote columns are empty.</p>
% endif
% if not has_health:
<p class="note">No consensus-health data yet: signatures, clocks, versions and notices are empty.</p>
% endif
% if sections_missing:
<p class="note">consensus-health sections missing or unreadable: ${sections_missing_text}.</p>
% endif
% if general_notices:
<ul class="notices">
% for n in general_notices:
<li>${n}</li>
% endfor
</ul>
% endif
<div class="wide">
<table class="list">
<thead><tr><th>Authority</th><th>Voting</th><th>Signed</th><th>Current vote</th><th>Consensus methods</th>
<th class="n">Relays voted</th><th class="n">Measured</th><th>Version</th><th>Clock</th><th>Known flags</th>
<th>Flag thresholds</th><th>Notices</th></tr></thead>
<tbody>
% for r in rows:
<tr class="${'bad' if r['problem'] else 'ok'}"><td>${r['nickname']}</td><td>${r['voting']}</td><td>${r['signed']}</td>
<td>${r['vote_current']}</td><td>${r['method']}</td><td class="n">${r['relays']}</td><td class="n">${r['measured']}</td>
<td>${r['version']}</td><td>${r['clock']}</td><td class="small">${r['flags']}</td><td class="small">${r['thresholds']}</td>
<td>${r['problems_text']}</td></tr>
% endfor
</tbody>
</table>
</div>
% endif

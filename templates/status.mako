<%inherit file="base.mako"/>\
<%block name="title">Status</%block>\
<h1>Status</h1>
<p class="lead">Daemon:
% if daemon_state == "running":
<span class="badge ok">running</span> when this page was rendered (it is rendered again whenever a
source's data or health changes, and once more when the daemon stops).
% elif daemon_state == "once":
<span class="badge warn">not running</span>: this site was rendered by a one-shot run
(<code>alliumd --once</code>); nothing keeps it fresh until the next run or until the daemon is started.
% elif daemon_state == "stopped":
<span class="badge warn">stopped</span> at ${stopped_at}: the daemon was stopped (<code>alliumctl stop</code>
or SIGTERM); the pages are not updated until it is started again.
% else:
<span class="badge warn">unknown</span>
% endif
</p>

<section>
<h2>Sources</h2>
% if sources:
<div class="wide">
<table class="list">
<thead><tr><th>Source</th><th>Enabled</th><th>State</th><th>Data published</th><th>Origin</th><th class="n">Failures</th><th>Last error</th></tr></thead>
<tbody>
% for s in sources:
<tr><td>${s['label']}</td><td class="nw">${s['enabled']}</td><td class="nw">${s['state']}</td><td>${s['data_time']}\
% if s['stale']:
 <span class="badge warn">stale</span>\
% endif
</td><td class="nw">${s['origin']}</td><td class="n nw">${s['failures']}</td><td>\
% if s['last_error']:
${s['last_error']} <span class="when">(${s['last_error_at']})</span>\
% else:
–\
% endif
</td></tr>
% endfor
</tbody>
</table>
</div>
% else:
<p>No source status is available.</p>
% endif
<p class="note">This page changes only when the data or a source's health changes; poll times, the
next run and process details are shown by <code>alliumctl status</code>.</p>
</section>

<section>
<h2>Renderer</h2>
<table class="kv">
${self.kv("State", renderer['state'])}
${self.kv("Last run", renderer['last_render'])}
${self.kv("Duration", renderer['last_duration'])}
${self.kv("Pages written", renderer['pages_written'])}
${self.kv("Pages unchanged", renderer['pages_unchanged'])}
${self.kv("Pages deleted", renderer['pages_deleted'])}
${self.kv("Last error", renderer['last_error'])}
</table>
</section>

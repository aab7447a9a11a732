## OpenMetrics text exposition (gauges only).  Names, label names and values are
## fixed vocabulary or checked by model/openmetrics.py ([A-Za-z0-9_.-]), so the
## default filter never changes them; the braces, commas and quotes are the format's own.
% for f in families:
# TYPE ${f['name']} ${f['type']}
# HELP ${f['name']} ${f['help']}
% for s in f['samples']:
${f['name']}\
% if s['labels']:
{\
% for i, (k, v) in enumerate(s['labels']):
${"," if i else ""}${k}="${v}"\
% endfor
}\
% endif
 ${s['value']}
% endfor
% endfor
# EOF

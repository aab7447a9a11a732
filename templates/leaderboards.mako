<%inherit file="base.mako"/>\
<%namespace name="lb" file="_leaderboards.mako"/>\
<%block name="title">AROI leaderboards</%block>\
<h1>AROI operator leaderboards</h1>
<p class="lead">${operators} operators ranked in ${category_count} categories. Operators are grouped by their
AROI domain (Authenticated Relay Operator ID) when their contact has one, else by contact.</p>
${lb.note(inputs)}\
${lb.overview(overview, "")}\
${lb.toc(categories, "")}\
${lb.sections(categories, "", "h2")}\

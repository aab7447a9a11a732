<%inherit file="base.mako"/>\
## The search form.  static/search.js (no third-party code, no inline
## handlers) loads search-index.json and builds results with DOM APIs and
## textContent.  Without JavaScript the browse lists below still lead to
## every relay.
<%block name="title">Search</%block>\
<link rel="stylesheet" href="${chrome['root']}static/groups.css">
<h1>Search relays</h1>
<form id="search-form" class="search" action="${chrome['root']}search.html" method="get" role="search" data-index="${chrome['root']}${index_path}" data-root="${chrome['root']}">
<label for="q">Nickname, fingerprint, IP address, AROI domain, contact, AS or country</label>
<input id="q" name="q" type="search" autocomplete="off" spellcheck="false" maxlength="200">
<button type="submit">Search</button>
</form>
<noscript><p class="note">Searching needs JavaScript. The lists below lead to every relay without it.</p></noscript>
<p class="note">Search reads <code>search-index.json</code> (the relays of the details published
${index_published}), so it works when the site is served over HTTP
(<code>python3 -m http.server --directory var/www</code>), not from a page opened as a file.</p>
<p id="search-status" class="note" role="status" aria-live="polite"></p>
<div id="results"></div>

<section>
<h2>Browse</h2>
<ul class="related">
% for b in browse:
<li><a href="${chrome['root']}${b['href']}">${b['title']}</a></li>
% endfor
<li><a href="${chrome['root']}relays/top.html">Top relays by consensus weight</a></li>
<li><a href="${chrome['root']}relays/all.html">All relays</a></li>
</ul>
</section>
<script src="${chrome['root']}static/search.js" defer></script>

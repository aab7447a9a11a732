<?xml version="1.0" encoding="utf-8"?>
## An Atom feed (RFC 4287).  Every value is escaped by the default filter (XML's
## five entities); text was cleaned of characters XML cannot carry by the view
## (model/events.clean_text).  ids are tag URIs that never change for a feed or an
## event, so a reader shows each event once.  hrefs are relative to the feed.
<feed xmlns="http://www.w3.org/2005/Atom">
<id>${feed_id}</id>
<title>${title}</title>
<updated>${updated}</updated>
<author><name>${author}</name></author>
<link rel="self" type="application/atom+xml" href="${self_href}"/>
<link rel="alternate" type="text/html" href="${page_href}"/>
% for e in entries:
<entry>
<id>${e['id']}</id>
<title>${e['title']}</title>
<updated>${e['updated']}</updated>
<link rel="alternate" type="text/html" href="${e['link']}"/>
<summary>${e['summary']}</summary>
</entry>
% endfor
</feed>

## A reusable part of a page (alliumd/pages/fragments.py): drawn between two comments naming it and its
## token; when the renderer found the same part in the page's current file (f.html), that text is copied
## (it is this very template's output for the same inputs, so already escaped); otherwise the caller's
## body draws it from the part's view.
<%def name="reusable(f)">\
<!--part ${f.name} ${f.token}-->\
% if f.html is not None:
${f.html | n}\
% else:
${caller.body(f.value)}\
% endif
<!--/part ${f.name}-->\
</%def>

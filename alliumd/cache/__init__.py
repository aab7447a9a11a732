"""The cache directory contract between the fetchers (writers) and the renderer (reader).

Neither side imports the other; both go through this package:

- ``names``: the file of each source (the fetched document, the summary the
  renderer reads), the sample marker, and each summary format's version;
- ``graphs``, ``validator``: the shapes of the graph-history and AROI
  validator summaries and their readers' helpers (the summarisers that
  write them are in ``alliumd.summaries``);
- ``layout``: Onionoo's line layout (envelope members, then one relay per
  line), written for summaries and read line by line by the renderer;
- ``meta``: the data time and sample flag the fetcher stores beside each
  render file, so the renderer never re-derives them from the document;
- ``files``: cheap change detection (signatures, hashes) and whole-document reads.
"""

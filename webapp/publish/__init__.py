"""Publishing: the public part of the archive as a static website, and the checks that guard it.

The modules that serve requests live one level up (:mod:`webapp.views`,
:mod:`webapp.data`, ...); this room holds what turns that same app into files
on disk, run by ``archive export``:

* :mod:`webapp.publish.export`: the export itself (read, plan, write, check,
  replace ``out`` in one rename), driving the app through its test client.
* :mod:`webapp.publish.staticmode`: what the templates add when rendered for a
  static host (CSP ``<meta>``, the page scripts, their ``data-*`` settings);
  the live app only ever sees ``static_export=False`` from it.
* :mod:`webapp.publish.pagefind`: the Pagefind bundle (search in the browser)
  built over the written pages and made byte-reproducible, and the word-start
  table written beside it.
* :mod:`webapp.publish.leakcheck`: proof that no file of the export holds
  anything private (redactions, restricted or embargoed testimonies, paths).
* :mod:`webapp.publish.linkcheck`: proof that every internal link and asset
  of the export resolves to a file.

Nothing is imported here, so importing one module does not load the others.
"""

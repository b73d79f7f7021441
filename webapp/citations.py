"""The citation formats live in the library (:mod:`archive.citations`), shared with the
command line; the web app's modules and tests import them from here too."""

from archive.citations import *  # noqa: F403
from archive.citations import (  # noqa: F401 - the page config reads these rules
    _BIBTEX_REPLACE,
    _BIBTEX_SPECIAL,
    _QUOTE_PREVIEW,
    ANNOTATION_CONTEXT,
    _bib,
)

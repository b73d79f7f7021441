"""The small archive the search and quote tests index: public testimonies in en, ru and uk
with facets to filter on, and the canary words of :mod:`canaries` planted in a redaction,
a redacted passage, a restricted and an embargoed testimony."""

from __future__ import annotations

from canaries import canary_word

# Words that exist only where nobody outside the archive may read them.
CANARIES = {
    "inline": canary_word("en", "inline"),
    "passage": canary_word("en", "passage"),
    "restricted": canary_word("en", "restricted"),
    "embargoed": canary_word("en", "embargoed"),
    "restricted_place": f"{canary_word('en', 'restricted')} valley",  # as the leak archive's
}

TESTIMONIES = {
    "officer-en": (
        dict(
            title='"An officer on leaving"',
            narrator='"Ivan (pseudonym)"',
            date="2023-10-04",
            place='"Kharkiv region"',
            themes="[furlough]",
            source='"Newsroom interview"',
            license='"CC BY 4.0"',
        ),
        "I asked for leave three times, and each time the commander refused.\n"
        "{: #leave-refused }\n\n"
        "We escaped through the forest at night; the dogs were barking behind us.\n"
        '{: #escape themes="escape-abroad" }\n\n'
        "The medic wrote <script>alert(1)</script> & then signed the paper.\n"
        "{: #medic }\n\n"
        "They were sent home after the furlough ended, and nobody came back.\n"
        "{: #sent-home }\n\n"
        f"My unit was [the {CANARIES['inline']} brigade]{{.redact}} near the river crossing.\n"
        "{: #unit }\n\n"
        f"Sergei {CANARIES['passage']} drove me to the border in his van.\n"
        "{: .redact }\n",
    ),
    "deserter-ru": (
        dict(
            title='"Дезертир о самоволке"',
            narrator='"Олег"',
            date="2022-05-01",
            place='"Москва"',
            language="ru",
            themes="[desertion]",
        ),
        "Я ушёл в самоволку в сентябре, потому что отпуск так и не дали.\n\n"
        "Дезертиров искали по всем деревням, но меня не нашли.\n",
    ),
    "soldier-uk": (
        dict(
            title='"Солдат про відпустку"',
            narrator='"Андрій"',
            date='"2024-03"',
            place='"Київ"',
            language="uk",
        ),
        "Мені не дали відпустку, тому я втік з частини.\n\n"
        "Через п’ять днів мене знайшли біля кордону.\n",
    ),
    "patrol-1937": (
        dict(title='"Patrollers in 1937"', date='"1937-05"', place='"Oakgrove, Alabama"'),
        "The patrollers caught him near the creek and brought him back.\n\n"
        "He ran off again the next spring and was never caught.\n",
    ),
    "patrol-1938": (
        dict(title='"Patrollers in 1938"', date="1938-02-01", place='"Mobile, Alabama"'),
        "The patrollers rode every night that winter.\n",
    ),
    "undated-en": (
        dict(title='"An undated account"'),
        "The patrollers never came to our quarters, and nobody ran.\n",
    ),
    "closed-restricted": (
        dict(
            title='"Closed account"',
            status="restricted",
            place=f'"{CANARIES["restricted_place"]}"',
        ),
        f"The commander {CANARIES['restricted']} refused my leave twice.\n",
    ),
    "later-embargoed": (
        dict(title='"Embargoed account"', status="embargoed", publish_after="2099-01-01"),
        f"The commander {CANARIES['embargoed']} signed the furlough papers.\n",
    ),
}

"""Link features: the registered domains of the links in a profile's description.

Read from the expanded URLs in ``entities.description.urls``.  The bot model counts them
and flags shorteners; the campaign model and the cluster report use the domains too.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping, Sequence
from itertools import repeat
from typing import Any

import numpy as np

__all__ = ["SHORTENERS", "registered_domain", "description_domains", "link_domain_features",
           "is_mapping"]

SHORTENERS = frozenset(
    "bit.ly goo.gl tinyurl.com ow.ly t.co buff.ly is.gd dlvr.it ift.tt fb.me j.mp amzn.to "
    "youtu.be lnkd.in tiny.cc shorturl.at rebrand.ly cutt.ly bit.do adf.ly su.pr wp.me "
    "trib.al po.st rb.gy linktr.ee bitly.com qr.net v.gd x.co".split()
)
_SECOND_LEVEL = frozenset("co com net org ac gov edu ne or go gob nic mil ltd plc sch".split())


def registered_domain(url: str) -> str | None:
    """The registered domain of ``url``: lowercased, no ``www.``, no port or user.

    Without a public-suffix list this keeps the last two labels, or three when the
    second-to-last is a common second level under a country code (``bbc.co.uk``).
    """
    if not isinstance(url, str) or not url:
        return None
    rest = url.strip().split("://", 1)[-1]
    host = rest.split("/", 1)[0].split("?", 1)[0].split("#", 1)[0]
    host = host.rsplit("@", 1)[-1].split(":", 1)[0].strip(".").lower()
    if not host or not all(_host_char(ch) for ch in host):
        return None  # not a host name: a space, a control or bidi character, a quote
    if host.startswith("www."):
        host = host[4:]
    labels = host.split(".")
    if len(labels) < 2 or all(label.isdigit() for label in labels):
        return host if len(labels) >= 2 else None
    keep = 3 if len(labels) >= 3 and len(labels[-1]) == 2 and labels[-2] in _SECOND_LEVEL else 2
    return ".".join(labels[-keep:])


def _host_char(ch: str) -> bool:
    """ASCII letters, digits, '-', '_' and '.'; beyond ASCII, anything but controls, format
    characters (bidi marks) and spaces (IDNs, and emoji domains such as i❤.ws)."""
    if ch.isascii():
        return ch.isalnum() or ch in "-_."
    return unicodedata.category(ch)[0] not in "CZ"


def is_mapping(value: Any) -> bool:
    return type(value) is dict or isinstance(value, Mapping)  # the ABC check is slow


def _url_items(entities: Any) -> list[Any]:
    """``entities.description.urls`` when it is a list, else ``[]``."""
    if not is_mapping(entities):
        return []
    description = entities.get("description")
    if not is_mapping(description):
        return []
    urls = description.get("urls")
    return urls if isinstance(urls, list) else []


def _domains(items: list[Any]) -> list[str]:
    out: list[str] = []
    for item in items:
        if type(item) is not dict and not isinstance(item, Mapping):
            continue
        domain = registered_domain(item.get("expanded_url") or item.get("url") or "")
        if domain and domain not in out:
            out.append(domain)
    return out


def description_domains(record: Mapping[str, Any]) -> list[str]:
    """Registered domains of the description's links (``entities.description.urls``)."""
    return _domains(_url_items(record.get("entities")))



def link_domain_features(entities: Sequence[Any]) -> tuple[np.ndarray, np.ndarray]:
    """Distinct description-link domains, and whether one is a shortener, per record."""
    n = len(entities)
    link_domains = np.zeros(n)
    shortener = np.zeros(n)
    rows = np.flatnonzero(np.fromiter(map(bool, entities), bool, n)).tolist()
    present = [entities[i] for i in rows]
    try:  # most entities hold only the profile link: keep those with a description part
        described = list(map(dict.get, present, repeat("description")))
        rows = [i for i, part in zip(rows, described, strict=True) if part]
    except TypeError:  # an entities value that is not a dict: test each one
        pass
    for i in rows:
        items = _url_items(entities[i])
        if not items:
            continue
        domains = _domains(items)
        link_domains[i] = len(domains)
        shortener[i] = float(any(domain in SHORTENERS for domain in domains))
    return link_domains, shortener

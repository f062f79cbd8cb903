"""The SSRF guard every outbound request goes through (asset URLs, webhooks, captions).

``addresses`` holds the pure rules, ``policy`` the settings they run under, ``client`` the httpx
layer that resolves, vets and pins each connection. See ``docs/outbound.md``. This package imports
nothing of reelhouse but ``reelhouse.errors``.
"""

from reelhouse.outbound.addresses import (
    Verdict,
    address_allowed,
    check_addresses,
    check_host,
    classify,
    literal_address,
)
from reelhouse.outbound.client import (
    DownloadResult,
    GuardedTransport,
    PostResult,
    Resolver,
    check_url,
    download_to,
    post_json,
    system_resolver,
)
from reelhouse.outbound.errors import OutboundFailed, OutboundRefused
from reelhouse.outbound.policy import AllowList, Policy

__all__ = [
    "AllowList",
    "DownloadResult",
    "GuardedTransport",
    "OutboundFailed",
    "OutboundRefused",
    "Policy",
    "PostResult",
    "Resolver",
    "Verdict",
    "address_allowed",
    "check_addresses",
    "check_host",
    "check_url",
    "classify",
    "download_to",
    "literal_address",
    "post_json",
    "system_resolver",
]

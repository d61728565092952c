"""The firewall: pynet's nftables policy (``policy``) and the calls drivers and cnm make (``hooks``).

It sits between the drivers and the kernel: drivers and cnm call it, it calls
``pynet.kernel.nft``, and it never imports a driver. Design: docs/firewall.md.
"""

"""What vulture (``make lint``) cannot see being used: names reached dynamically or kept for tests.

Never imported or run: vulture only reads the names below. Dead code is removed, not
listed here; add a name only with the reason it lives.
"""
# ruff: noqa
# fmt: off

# click commands, and the fast path's "module:function" targets (pynet/cli/commands_spec.py)
ls; rm; ps; inspect; exec_; logs; exited; prune; sync_
# pynet link (pynet/cli/link.py)
set_; show
# click options accepted for Docker's command line, without effect in pynet
volumes; timestamps; verbose; no_prune
# the Image record's version field, read by the store's schema check (pynet/state/images.py)
schema_version
# the Engine API's (pynet/api, merged from branch api): images, exec, attach frames
image_summary; exec_start; wait_child; frame

# Engine API handlers, reached through pynet/api/routes.py's "module:function" lines, and
# http.server's hooks (names it calls); `system service` is a click command
list_networks; list_containers; no_swarm; pull_refused; hijack; service
list_images; attach; logs; resize; events
# AttachRequest fields recorded through dataclasses.asdict (cnm/lifecycle.py) and shown by views
links; link_local_ips
protocol_version; server_version; sys_version; version_string; address_string; log_message
send_error; do_HEAD; do_POST; do_DELETE; do_PUT; daemon_threads; request_queue_size

# drivers: instantiated from their registry line, "module:Class" (pynet/drivers/__init__.py)
BridgeDriver; HostDriver; NullDriver; MacvlanDriver; OverlayDriver
# a remote plugin's answers: GetCapabilities kept whole, EndpointOperInfo and
# RequiresMACAddress (tests/unit/test_plugins.py, tests/plugin_example/)
capabilities; endpoint_oper_info; requires_mac

# kernel ABI constants kept next to their siblings (the numbering is the kernel's)
MS_RDONLY; MS_REMOUNT; MS_SLAVE
NLM_F_MULTI; NFT_MSG_NEWTABLE; NFT_MSG_NEWCHAIN; NFT_MSG_DELCHAIN; NFT_MSG_NEWRULE
NFT_MSG_NEWSET; NFT_MSG_DELSET
# DNS wire format: the AA header bit and the EDNS flag are decoded for completeness
AA; has_options
# an etcd response field decoded with the others (tests/unit/test_overlay_etcd.py)
create_revision

# used only by tests: small public helpers whose behaviour the unit tests pin
upstream_servers        # tests/unit/test_etcfiles.py
for_network; allocate_from; release_owner; addresses_of   # tests/unit/test_ipam.py
exposed_keys            # tests/unit/test_ports.py
ipam_space              # tests/unit/test_ipam_state.py
opt_for_query; build_query   # DNS clients in tests/unit/test_dns_*.py
attr_list               # tests/unit/test_nft_raw.py
describe_backend; list_text  # tests/unit/test_nftables_lib.py, tests/integration/test_firewall_cost.py
# compose: x-pynet-link's settings, read through dataclasses.asdict (pynet/compose/model.py)
rate; jitter; loss; duplicate; corrupt

# the Engine API's /events reads since/until through it (docs/events.md; branch api2)
parse_api_time

# pynet/jsonio.py: the decoder settings _json.make_scanner reads by name
object_hook; object_pairs_hook; parse_float; parse_int; parse_constant

# the warm server (pynet/warm): bin/pynet calls delegate; the child sets what a fresh
# interpreter's sys.__stdout__ & co. would be
delegate; __stdin__; __stdout__; __stderr__

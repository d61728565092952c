"""Host-wide administration: reset everything, reload or open up the firewall.

A mixin of the Controller (kept apart so the controller stays about CNM objects).
"""

from __future__ import annotations

TYPE_CHECKING = False  # no `typing` at run time: design.md, "Start-up"
if TYPE_CHECKING:
    from typing import Any

from pynet import paths
from pynet.cnm.networks import NetworkService
from pynet.drivers import driver_class, get_driver
from pynet.errors import PynetError


class HostAdmin:
    """Operations on all of pynet's objects on this host."""

    store: Any
    reader: Any
    remove_container: Any
    mutation: Any
    notices: list[str]

    def reset(self) -> list[str]:
        """Remove all containers and user networks, the default bridge device, the helper and
        the waiters' zygote.

        Holds the lock throughout: stopping the helper, releasing the sandbox directory and
        dropping the "restored" marker are decided on what reset itself left, so a command
        that ran in between (its container, its helper) is never taken down with them.
        """
        from pynet.faults import fault

        errors: list[str] = []
        with self.store.locked():
            for cid in self.store.ids("containers"):  # by ID: a damaged record is removed too
                try:
                    self.remove_container(cid, force=True)
                except PynetError as exc:
                    errors.append(exc.render())
            with self.mutation() as (repo, undo):
                svc = NetworkService(repo, undo)
                for net in repo.networks():
                    try:
                        if net.builtin:
                            get_driver(net.driver).delete_network(net)
                        elif net.scope == "global":
                            from pynet.cnm import cluster

                            cluster.drop_local(repo, net)  # the cluster keeps it for the other hosts
                        else:
                            svc.remove(net.id)
                    except PynetError as exc:
                        errors.append(exc.render())
            fault("reset_teardown")
            self.notifier.stop()
            from pynet.cnm import sandboxes

            sandboxes.release_all()
            from pynet.kernel import zygote

            zygote.stop(str(paths.run_dir()))  # no container left to start for: end the waiters' zygote
            zygote.stop(str(paths.run_dir()), "warm-")  # and the warm servers: pynet leaves no process
            (paths.run_dir() / "restored").unlink(missing_ok=True)
        return errors

    def firewall_reload(self) -> None:
        """Rebuild pynet's nftables rules from state (nothing of removed containers comes back).

        Every read that decides the rules happens under the lock: a container removed while
        this command waited for it must not get its DNAT back (a later container given the
        same address would answer on a port it never published). Networks whose bridge
        does not exist (``pynet0`` before its first container) get no rules.
        """
        from pynet.firewall import policy as firewall
        from pynet.faults import fault

        fault("admin_lock")
        with self.mutation() as (repo, _undo):
            nets = [
                n
                for n in repo.networks()
                if driver_class(n.driver).firewalled and get_driver(n.driver).network_present(n)
            ]
            present = {n.id: n for n in nets}
            published = []
            for c in repo.containers():
                if c.status not in ("created", "running") or not c.ports:
                    continue
                for net_id, ep_id in c.endpoints.items():
                    net, ep = present.get(net_id), repo.endpoint(ep_id)
                    if net is not None and ep is not None:
                        published.append((net, ep, c.ports))
                        break
            self.notices.extend(firewall.reload(nets, published))

    def firewall_allow_docker(self) -> list[str]:
        """Accept rules for every bridge network in foreign policy-drop forward chains."""
        from pynet.firewall import policy as firewall
        from pynet.faults import fault

        fault("admin_lock")
        with self.mutation() as (repo, _undo):  # a network removed meanwhile gets no rules
            nets = [
                n
                for n in repo.networks()
                if driver_class(n.driver).firewalled and get_driver(n.driver).network_present(n)
            ]
            return firewall.allow_docker_user(nets)

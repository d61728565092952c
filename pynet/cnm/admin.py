"""Host-wide administration: reset everything, reload or open up the firewall.

A mixin of the Controller (kept apart so the controller stays about CNM objects).
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing costs ~6 ms to import here: annotations only
if TYPE_CHECKING:
    from typing import Any

from pynet import paths
from pynet.cnm.networks import NetworkService
from pynet.drivers import get_driver
from pynet.errors import PynetError


class HostAdmin:
    """Operations on all of pynet's objects on this host."""

    store: Any
    reader: Any
    remove_container: Any
    mutation: Any

    def reset(self) -> list[str]:
        """Remove all containers and user networks, the default bridge device and the helper."""
        errors: list[str] = []
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
        try:
            from pynet.daemon import client

            client.stop()
        except ImportError:
            pass
        from pynet.drivers import sandbox

        sandbox.release_sandbox_dir(str(paths.netns_dir()))
        (paths.run_dir() / "restored").unlink(missing_ok=True)
        return errors


    def firewall_reload(self) -> None:
        """Rebuild pynet's nftables rules from state (nothing of removed containers comes back)."""
        from pynet.drivers import firewall

        repo = self.reader()
        nets = [n for n in repo.networks() if n.driver == "bridge"]
        published = []
        for c in repo.containers():
            if c.status not in ("created", "running") or not c.ports:
                continue
            for net_id, ep_id in c.endpoints.items():
                net, ep = repo.network(net_id), repo.endpoint(ep_id)
                if net is not None and ep is not None:
                    published.append((net, ep, c.ports))
                    break
        with self.store.locked():
            firewall.reload(nets, published)


    def firewall_allow_docker(self) -> list[str]:
        from pynet.drivers import firewall

        nets = [n for n in self.reader().networks() if n.driver == "bridge"]
        return firewall.allow_docker_user(nets)

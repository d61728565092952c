"""Shared pytest setup: markers by folder, root/tool gating, the leak check, host fixtures.

Fixtures for ``integration``/``acceptance`` tests (API in ``tests/harness.py``):

  host                      one Host (label "host")
  hosts(n) -> list[Host]    n more Hosts (labels h1, h2, ...)
  lan_peer(host, subnet="198.51.100.0/24", *, host_ifname=None, uplink=False, routed=False) -> Peer
  underlay(hosts, subnet="203.0.113.0/24", *, default_route=True) -> Underlay
  lab                       the Lab that owns all of the above (cleans up at teardown)
  leak_check                autouse: fails the test if the machine's own netns changed

With ``CI`` set (``.ci/run`` sets it), a skipped integration or acceptance test is a failure:
CI must prove the kernel paths, not skip them.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))  # `import harness` in any import mode

import harness  # noqa: E402

_KERNEL_MARKS = ("integration", "acceptance")
_FOLDER_MARKS = {"unit": "unit", "integration": "integration", "acceptance": "acceptance"}


def _kernel_test(item: pytest.Item) -> bool:
    return any(item.get_closest_marker(m) for m in _KERNEL_MARKS)


@pytest.hookimpl(tryfirst=True)  # before `-m` deselection sees the items
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark unmarked tests by folder; skip kernel tests where they cannot run."""
    tests_dir = Path(__file__).resolve().parent
    reason = harness.integration_skip_reason()
    for item in items:
        if not any(item.get_closest_marker(m) for m in _FOLDER_MARKS.values()):
            try:
                folder = Path(item.path).resolve().relative_to(tests_dir).parts[0]
            except (ValueError, IndexError):
                folder = ""
            if folder in _FOLDER_MARKS:
                item.add_marker(_FOLDER_MARKS[folder])
        if reason and _kernel_test(item):
            item.add_marker(pytest.mark.skip(reason=reason))


def in_ci() -> bool:
    """True when the run is CI's (``CI`` set to anything but empty, 0 or false)."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator[None]:
    """In CI, a skipped kernel test is reported as failed, with the skip's reason."""
    outcome = yield
    report = outcome.get_result()
    if not (report.skipped and in_ci() and _kernel_test(item)) or hasattr(report, "wasxfail"):
        return
    reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
    report.outcome = "failed"
    report.longrepr = (
        f"{item.nodeid} skipped in CI ({reason}): with CI set, every integration "
        "and acceptance test must run (install the deps, run as root, load the "
        "kernel modules it needs)"
    )


def pytest_configure(config: pytest.Config) -> None:
    if in_ci():  # a module skipped as a whole fails collection; still run everything else
        config.option.continue_on_collection_errors = True


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector: pytest.Collector) -> Iterator[None]:
    """In CI, a kernel test module that skips itself as a whole is a collection error."""
    outcome = yield
    report = outcome.get_result()
    if not (report.skipped and in_ci() and isinstance(collector, pytest.Module)):
        return
    try:
        folder = Path(collector.path).resolve().relative_to(Path(__file__).resolve().parent).parts[0]
    except (ValueError, IndexError):
        return
    if _FOLDER_MARKS.get(folder) in _KERNEL_MARKS:
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = f"{collector.nodeid} skipped as a whole in CI ({reason})"


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Last resort: remove namespaces a crashed test left behind."""
    harness.sweep()


class LeakCheck:
    """Snapshot of the root netns taken before a test; ``verify()`` after its teardown."""

    def __init__(self) -> None:
        self.before = harness.root_snapshot()

    def verify(self) -> None:
        found = harness.leaks(self.before, harness.root_snapshot())
        if found:
            raise AssertionError("the test leaked into the machine's own network namespace:\n" + "\n".join(found))


@pytest.fixture(autouse=True)
def leak_check(request: pytest.FixtureRequest) -> Iterator[LeakCheck | None]:
    """For integration/acceptance tests: fail when root-netns links, addresses, routes,
    netns names, nft tables or ip_forward differ after teardown."""
    if not _kernel_test(request.node) or harness.integration_skip_reason():
        yield None
        return
    check = LeakCheck()
    yield check
    check.verify()


@pytest.fixture
def lab(leak_check: LeakCheck | None, tmp_path: Path) -> Iterator[harness.Lab]:
    """Owns every namespace the test makes; tears all down even when the test failed."""
    reason = harness.integration_skip_reason()
    if reason:
        pytest.skip(reason)
    the_lab = harness.Lab(tmp_path)
    yield the_lab
    the_lab.cleanup()  # before leak_check.verify(): lab depends on leak_check


@pytest.fixture
def host(lab: harness.Lab) -> harness.Host:
    """One throwaway Host running pynet in its own netns, state and run dirs."""
    return lab.new_host("host")


@pytest.fixture
def hosts(lab: harness.Lab) -> Callable[[int], list[harness.Host]]:
    """Factory: ``hosts(n)`` -> n new Hosts (h1, h2, ...), for multi-host tests."""
    return lab.new_hosts


@pytest.fixture
def lan_peer(lab: harness.Lab) -> Callable[..., harness.Peer]:
    """Factory: ``lan_peer(host, subnet="198.51.100.0/24", ...)`` -> Peer (see Host.lan_peer)."""
    return lab.lan_peer


@pytest.fixture
def underlay(lab: harness.Lab) -> Callable[..., harness.Underlay]:
    """Factory: ``underlay(hosts, subnet="203.0.113.0/24")`` -> Underlay joining the hosts."""
    return lab.underlay

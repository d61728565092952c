"""The events log (pynet.state.events), Docker's events filter and time values
(pynet.cnm.events) and the ``pynet events`` renderings (pynet.cli.events), without a kernel."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from pynet.cli import events as cli_events
from pynet.cnm import events as ev
from pynet.errors import InvalidArgument
from pynet.records.model import Container, Network
from pynet.state.events import EventLog

pytestmark = pytest.mark.unit

REPO_ROOT = Path(__file__).resolve().parents[2]
REF = REPO_ROOT / "tests" / "reference" / "docker-events"
NET = Network(id="a" * 64, name="n1", driver="bridge", created="")


def _net_event(action: str, ns: int, name: str = "n1") -> dict:
    return ev.make_event("network", action, "b" * 64, {"name": name, "type": "bridge"}, now_ns=ns)


def test_event_shape_is_dockers_json_to_the_byte() -> None:
    ref = json.loads((REF / "ev.json").read_text().splitlines()[0])  # network create n1
    ours = ev.make_event(
        "network", "create", ref["Actor"]["ID"], {"name": "n1", "type": "bridge"}, now_ns=ref["timeNano"]
    )
    assert cli_events.json_line(ours) == json.dumps(ref, separators=(",", ":"))
    assert ev.network_event("connect", NET, container="c" * 64)["Actor"]["Attributes"] == {
        "container": "c" * 64,
        "name": "n1",
        "type": "bridge",
    }


def test_container_event_carries_dockers_deprecated_fields() -> None:
    c = Container(id="d" * 64, name="web", created="", path="true", labels={"app": "x"})
    die = ev.container_event("die", c, exitCode="3")
    assert list(die) == ["status", "id", "Type", "Action", "Actor", "scope", "time", "timeNano"]
    assert (die["status"], die["id"]) == ("die", "d" * 64)
    assert die["Actor"]["Attributes"] == {"app": "x", "exitCode": "3", "name": "web"}


def test_text_line_is_dockers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    ref = (REF / "ev.txt").read_text().splitlines()
    first = json.loads((REF / "ev.json").read_text().splitlines()[0])
    prune = json.loads((REF / "ev.json").read_text().splitlines()[-1])
    assert cli_events.text_line(first) == ref[0]
    assert cli_events.text_line(prune) == ref[-1]  # two spaces: no actor ID
    monkeypatch.setenv("TZ", "Europe/Paris")
    time.tzset()
    assert cli_events.text_line(first).startswith("2026-12-03T07:40:04.624401977+01:00 network create")
    monkeypatch.delenv("TZ")
    time.tzset()


def test_template_sees_go_field_names() -> None:
    ref = json.loads((REF / "ev.json").read_text().splitlines()[1])  # container create c1
    render = cli_events._renderer("{{.Status}} {{.ID}} {{.From}} {{.Scope}} {{.Actor.Attributes.name}} {{.Time}}")
    assert render(ref) == f"create {ref['id']} bb local c1 {ref['time']}"
    assert cli_events._renderer("json")(ref) == json.dumps(ref, separators=(",", ":"))


def test_append_replay_and_rotation(tmp_path: Path) -> None:
    log = EventLog(tmp_path, max_bytes=600)
    for i in range(12):
        log.append([_net_event("create", i, name=f"n{i}")])
    names = [e["Actor"]["Attributes"]["name"] for e in log.read(history=True, follow=False)]
    assert names == [f"n{i}" for i in range(12 - len(names), 12)]  # newest kept, in order
    assert 2 <= len(names) < 12  # bounded: the oldest generation was dropped
    assert os.path.getsize(tmp_path / "events.log") <= 600
    assert os.path.getsize(tmp_path / "events.log.1") <= 600


def test_a_torn_line_is_skipped(tmp_path: Path) -> None:
    (tmp_path / "events.log").write_text('{"Type":"netw\n' + json.dumps(_net_event("create", 1)) + "\n")
    assert [e["Action"] for e in EventLog(tmp_path).read(history=True, follow=False)] == ["create"]


def test_follow_sees_appends_across_a_rotation(tmp_path: Path) -> None:
    log = EventLog(tmp_path, max_bytes=400)
    log.append([_net_event("create", 0, name="old")])
    seen: list[str] = []
    stop = threading.Event()

    def reader() -> None:
        for e in log.read(history=False, follow=True, stop=stop.is_set, poll=0.01):
            seen.append(e["Actor"]["Attributes"]["name"])

    t = threading.Thread(target=reader)
    t.start()
    time.sleep(0.1)
    for i in range(6):  # several rotations on the way
        log.append([_net_event("create", i + 1, name=f"live{i}")])
        time.sleep(0.03)
    deadline = time.monotonic() + 5
    while len(seen) < 6 and time.monotonic() < deadline:
        time.sleep(0.01)
    stop.set()
    t.join(5)
    assert seen == [f"live{i}" for i in range(6)]  # "old" was there before: not replayed


def test_stream_since_until(tmp_path: Path) -> None:
    log = EventLog(tmp_path)
    log.append([_net_event("create", 10 * 10**9, "a"), _net_event("destroy", 20 * 10**9, "b")])
    log.append([_net_event("create", 30 * 10**9, "c")])

    def names(**kw: float) -> list[str]:
        return [e["Actor"]["Attributes"]["name"] for e in ev.stream(tmp_path, **kw)]

    assert names(since=0, until=100) == ["a", "b", "c"]
    assert names(since=15, until=100) == ["b", "c"]
    assert names(since=0, until=20) == ["a", "b"]
    assert [
        e["Action"] for e in ev.stream(tmp_path, since=0, until=100, match=ev.EventFilter({"event": ["destroy"]}))
    ] == ["destroy"]


def test_filter_is_dockers() -> None:
    connect = ev.make_event("network", "connect", "f" * 64, {"container": "c" * 64, "name": "n1", "type": "bridge"})
    create = ev.make_event("container", "create", "c" * 64, {"name": "web", "app": "x"})
    f = ev.EventFilter
    assert f({"type": ["network"]}).match(connect) and not f({"type": ["network"]}).match(create)
    assert f({"network": ["n1"]}).match(connect) and f({"network": ["fff"]}).match(connect)  # name, ID prefix
    assert not f({"container": ["web"]}).match(connect)  # Docker: only the container's own events
    assert f({"container": ["we"]}).match(create) and not f({"container": ["x"]}).match(create)
    assert f({"event": ["connect", "create"]}).match(connect) and f({"event": ["connect", "create"]}).match(create)
    assert f({"label": ["app=x"]}).match(create) and f({"label": ["app"]}).match(create)
    assert not f({"label": ["app=y"]}).match(create)
    assert f({"scope": ["local"]}).match(create) and not f({"scope": ["swarm"]}).match(create)
    assert f({"foo": ["bar"]}).match(create)  # unknown keys are ignored, as Docker's daemon
    assert not f({"volume": ["v"]}).match(create)


@pytest.mark.parametrize(
    "value, expected",
    [
        ("10m", 1000.0 - 600),
        ("1h30m", 1000.0 - 5400),
        ("1.5s", 998.5),
        ("-10s", 1010.0),
        ("0s", 1000.0),
        ("0", 0.0),
        ("1700000000", 1700000000.0),
        ("1700000000.5", 1700000000.5),
        ("2024-01-01T00:00:00Z", 1704067200.0),
        ("2024-01-01T01:00:00+01:00", 1704067200.0),
        ("2024-01-01T00:00:00.25Z", 1704067200.25),
        ("2024-01-01Z", 1704067200.0),
    ],
)
def test_parse_time(value: str, expected: float) -> None:
    assert ev.parse_time(value, now=1000.0) == pytest.approx(expected)


def test_parse_time_local_and_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    assert ev.parse_time("2024-01-01") == 1704067200.0
    assert ev.parse_time("2024-01-01T10:00") == 1704067200.0 + 36000
    monkeypatch.delenv("TZ")
    time.tzset()
    with pytest.raises(InvalidArgument, match='failed to parse value as time or duration: "bogus"'):
        ev.parse_time("bogus")
    with pytest.raises(InvalidArgument, match="2024-13-01"):
        ev.parse_time("2024-13-01")
    assert ev.parse_api_time("1700000000.000000001") == pytest.approx(1700000000.0)
    with pytest.raises(InvalidArgument):
        ev.parse_api_time("10m")


def test_read_only_commands_never_import_the_views(tmp_path: Path) -> None:
    """ls/inspect/ps load neither rich nor yaml nor the events/topology/info modules."""
    from pynet.cnm import networks as netsvc
    from pynet.cnm.repo import Repo
    from pynet.state.store import Store

    state, run = tmp_path / "state", tmp_path / "run"
    store = Store(state)
    with store.locked():
        txn = store.begin()
        repo = Repo(store, txn)
        for net in netsvc.builtin_networks([]):
            repo.put_network(net)
            repo.init_ipam(net.id)
        txn.commit()
    run.mkdir()
    (run / "restored").touch()
    code = (
        "import sys\n"
        "from pynet.cli.main import boundary, _dispatch\n"
        "for argv in (['network', 'ls'], ['network', 'inspect', 'bridge'], ['ps', '-a'], ['inspect', 'nosuch'],\n"
        "             ['network', 'ls', '--format', '{{json .}}']):\n"
        "    boundary(lambda: _dispatch(argv))\n"
        "bad = ('rich', 'yaml', 'pyroute2', 'pynet.cli.events', 'pynet.cnm.events', 'pynet.state.events',\n"
        "       'pynet.cli.topology', 'pynet.cnm.hostview', 'pynet.cli.info', 'pynet.cnm.info', 'pynet.cnm.shared_sandbox')\n"
        "print('LOADED', sorted(m for m in sys.modules if m in bad or m.split('.')[0] in bad))\n"
    )
    env = {**os.environ, "PYNET_STATE_DIR": str(state), "PYNET_RUN_DIR": str(run), "PYTHONPATH": str(REPO_ROOT)}
    cp = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env=env, cwd=tmp_path)
    assert cp.returncode == 0, cp.stderr
    assert "bridge" in cp.stdout  # the commands did run
    assert cp.stdout.strip().splitlines()[-1] == "LOADED []"


def test_concurrent_writers_lose_and_tear_nothing(tmp_path: Path) -> None:
    """Four processes append under the store lock (as every pynet command does) while a
    follower reads: every event arrives once, whole, in the order the lock gave them."""
    code = (
        "import sys\n"
        "from pathlib import Path\n"
        "from pynet.cnm import events as ev\n"
        "from pynet.state.events import EventLog\n"
        "from pynet.state.store import Store\n"
        "root, tag = Path(sys.argv[1]), sys.argv[2]\n"
        "store = Store(root)\n"
        "for i in range(50):\n"
        "    with store.locked():\n"
        "        EventLog(root).append([ev.make_event('network', 'create', tag, {'name': f'{tag}-{i}', 'pad': 'x' * 300})])\n"
    )
    seen: list[str] = []
    stop = threading.Event()

    def follow() -> None:
        for e in EventLog(tmp_path).read(history=True, follow=True, stop=stop.is_set, poll=0.01):
            seen.append(e["Actor"]["Attributes"]["name"])

    t = threading.Thread(target=follow)
    t.start()
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    procs = [subprocess.Popen([sys.executable, "-c", code, str(tmp_path), f"w{n}"], env=env) for n in range(4)]
    assert [p.wait(timeout=60) for p in procs] == [0, 0, 0, 0]
    deadline = time.monotonic() + 10
    while len(seen) < 200 and time.monotonic() < deadline:
        time.sleep(0.02)
    stop.set()
    t.join(5)
    stored = [e["Actor"]["Attributes"]["name"] for e in EventLog(tmp_path).read(history=True, follow=False)]
    assert sorted(stored) == sorted(f"w{n}-{i}" for n in range(4) for i in range(50))
    assert seen == stored  # the follower saw the same events in the same order
    for n in range(4):  # each writer's own events keep their order
        mine = [s for s in stored if s.startswith(f"w{n}-")]
        assert mine == [f"w{n}-{i}" for i in range(50)]

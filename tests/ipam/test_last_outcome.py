"""A claim written again at once is answered from the engine's last outcome, with the result working it out
again would give: same status, no change logged, same values stored; and only when nothing changed since."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ipam import idclaim as it
from ipam.allocation import Outcome
from ipam.errors import AllocationError
from ipam.idindex import IDIndex
from ipam.ipclaim import parse_ip_claim
from ipam.ipindex import IPIndex
from tests.ipam.test_ipam_ip_engine import CHANGE_LOG_STEPS

Engine = IPIndex | IDIndex
POOL = {"matchLabels": {"role": "pool"}}
IP_STEPS: list[tuple[str, dict[str, Any]]] = [
    ("pool", {"prefix": "10.2.0.0/16", "labels": {"role": "pool"}}),
    *CHANGE_LOG_STEPS,
    ("d", {"createPrefix": True, "prefixLength": 28, "selector": POOL, "labels": {"x": "1"}}),
    ("g", {"address": "10.0.0.7/24", "defaultGateway": True}),
    ("p", {"prefix": "10.0.0.1/24", "prefixType": "network"}),
    ("x", {"address": "10.1.0.11/32"}),  # taken by t: fails
    ("r", {"range": "10.1.0.10-10.1.0.12"}),
    ("e", {"createPrefix": True, "prefixLength": 31, "selector": POOL}),
]
ID_STEPS: list[tuple[str, dict[str, Any]]] = [
    ("s", {"id": 100}), ("r", {"range": "200-209"}),
    ("a", {"selector": {"matchLabels": {"be.kuid.dev/claim-name": "r"}}}),
    ("d", {}), ("c", {"id": 205}), ("c", {"id": 205, "labels": {"k": "v"}}), ("x", {"id": 100}),
    ("r", {"range": "200-204"}), ("d", {"labels": {"k": "w"}}),
]


def ip_parse(engine: Engine, name: str, spec: dict[str, Any], status: dict[str, Any]) -> Any:
    return parse_ip_claim(name, spec, uid=f"uid-{name}", status=status)


def id_parse(engine: Engine, name: str, spec: dict[str, Any], status: dict[str, Any]) -> Any:
    assert isinstance(engine, IDIndex)
    return it.parse_id_claim(engine.space, name, spec, kind="VLANClaim", uid=f"uid-{name}", index="i",
                             status=status)


def counted(engine: Engine) -> list[int]:
    """Count the claims ``engine`` works out (rather than answers from its last outcome)."""
    worked = [0]
    work = engine._claim

    def counting(claim: Any) -> Outcome:
        worked[0] += 1
        return work(claim)

    engine._claim = counting  # type: ignore[method-assign]
    return worked


def replay(engine: Engine, parse: Callable[..., Any], steps: list[tuple[str, dict[str, Any]]],
           forget: bool) -> list[Any]:
    """Each step, then the same claim written again with the status it got; what each returned and logged.
    ``forget``: drop the last outcome before every claim (every claim worked out)."""
    seen: list[Any] = []
    statuses: dict[str, dict[str, Any]] = {}
    for name, spec in steps:
        for _again in range(2):
            if forget:
                engine._last.forget()
            try:
                status = engine.claim(parse(engine, name, spec, statuses.get(name, {}))).status
            except AllocationError as exc:
                engine.release(name)
                status = {"error": str(exc)}
            statuses[name] = status
            seen.append((name, status, engine.changes.drain()))
    seen.append([(a.key, a.owner, a.labels, a.value) for a in engine.allocations()])
    return seen


def test_ip_claims_written_again_get_what_working_them_out_gives() -> None:
    answered, worked_out = IPIndex("i"), IPIndex("i")
    worked = counted(answered)
    assert replay(answered, ip_parse, IP_STEPS, False) == replay(worked_out, ip_parse, IP_STEPS, True)
    assert worked[0] == len(IP_STEPS) + 1  # each claim worked out once; the failed one twice


def test_id_claims_written_again_get_what_working_them_out_gives() -> None:
    answered, worked_out = IDIndex(it.VLAN, "i"), IDIndex(it.VLAN, "i")
    worked = counted(answered)
    assert replay(answered, id_parse, ID_STEPS, False) == replay(worked_out, id_parse, ID_STEPS, True)
    assert worked[0] == len(ID_STEPS) + 1


def test_a_claim_is_worked_out_again_once_the_index_changed() -> None:
    index = IPIndex("i")
    index.claim(parse_ip_claim("pool", {"prefix": "10.2.0.0/16", "labels": {"role": "pool"}}, uid="u"))
    worked = counted(index)
    first = index.claim(parse_ip_claim("a", {"selector": POOL}, uid="ua")).status
    index.claim(parse_ip_claim("b", {"selector": POOL}, uid="ub"))
    assert index.claim(parse_ip_claim("a", {"selector": POOL}, uid="ua", status=first)).status == first
    assert worked[0] == 3
    # written again with another spec, uid or status: worked out too
    again = index.claim(parse_ip_claim("a", {"selector": POOL}, uid="ua", status=first)).status
    index.claim(parse_ip_claim("a", {"selector": POOL, "labels": {"k": "v"}}, uid="ua", status=again))
    index.claim(parse_ip_claim("a", {"selector": POOL, "labels": {"k": "v"}}, uid="other", status=again))
    assert worked[0] == 5

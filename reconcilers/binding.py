"""Binds one allocator engine type to its Index/Claim/Entry kinds through admission hooks.

Writes of an Index or Claim are handled synchronously inside the API server's write transaction (as the
reference's "invokers" do), so whoever writes a claim reads its ``status`` straight back:
- Index write: validate, make sure the engine exists, apply the index-derived claims (owned by the
  index), delete the derived claims no longer produced, retry the index's failed claims, set Ready.
- Claim write: syntax errors reject the write (a user mistake, one line naming the claim); otherwise the
  claim is allocated and its status filled: the value and ``Ready=True``, or no value and
  ``Ready=False`` with the reference's message (``cannot claim ip err ...``). A failed claim is retried
  when its index changes or when a release frees space.
- Claim delete: release; Index delete: delete every claim of the index and its entries.
- After each operation the Entry objects of the values that changed are written or removed, and the
  claims that lost values (a released parent prefix, a shrunk range) or whose parent changed (a prefix
  inserted over them or retyped, their subnet's gateway) are re-evaluated instead of staying Ready with a
  stale status. A claim written again as it stands
  (reconcilers re-apply theirs on every reconcile) writes nothing else: no entry, no token; when no change
  since its last admission concerns it, it is answered from that admission without asking the engine
  (see ``_remember``).

**Persistence.** Engines live in memory and are rebuilt from the stored claims: each claim's status holds
its value, and replaying the Ready claims of an index in the reference's restore order (statics before
dynamics) reproduces every value: a replayed claim takes its stored value back as the value it holds
(``restore``), so a dynamic claim keeps it as it did live, whatever its selector picks now. A claim the
rebuild gives another value (an index that changed model) is written again with the failed ones. To know
when the in-memory engine is stale (a new process, a rolled back transaction, another process writing the
same state folder) every engine change writes a fresh token record in the same transaction; an engine
whose token differs from the stored one is rebuilt.
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from choreo.plugin_api import BaseHook, HookHost, Invalid, ObjectAPI, get_condition, set_condition, utc_now
from ipam.allocation import Allocation, ChangeLog, Outcome, ValueKey
from ipam.errors import AllocationError, ClaimSyntaxError

Object = dict[str, Any]
VERSION = "v1alpha1"
READY = "Ready"
INDEX_MANAGER = "kuid-index"
ENTRY_MANAGER = "kuid-backend"
TOKENS = "kuid-allocators"


class Engine(Protocol):
    """What the binding needs of an engine (``IPIndex`` or ``IDIndex``)."""

    def claim(self, claim: Any) -> Outcome: ...
    def restore(self, claim: Any) -> Outcome: ...
    def release(self, name: str) -> list[str]: ...
    def allocation(self, key: ValueKey) -> Allocation | None: ...
    def allocations(self) -> Iterator[Allocation]: ...
    def entry_suffix(self, key: ValueKey) -> str: ...

    @property
    def changes(self) -> ChangeLog: ...


EngineT = TypeVar("EngineT", bound=Engine)


class Adapter(Protocol[EngineT]):
    """What differs between IPAM and the ID allocators (``EngineT``: the engine type the adapter makes)."""

    group: str
    index_kind: str
    claim_kind: str
    entry_kind: str
    failure_prefix: str  # "cannot claim ip err " / "cannot claim err "
    value_fields: tuple[str, ...]  # status fields that hold the value
    range_entries_drop_index: bool  # the entries of a range's values are named without the index

    def validate_index(self, index: Object) -> None:
        """Raise ``ClaimSyntaxError`` or ``ValueError`` for a bad index spec."""
        ...

    def new_engine(self, index: Object) -> EngineT: ...

    def engine_fits(self, engine: EngineT, index: Object) -> bool:
        """Whether ``engine`` still models ``index`` (same ID space, same IP model), else it is rebuilt."""
        ...

    def parse_claim(self, engine: EngineT | None, index: Object | None, claim: Object, status: Object) -> Any:
        """The engine's claim object; raises ``ClaimSyntaxError``."""
        ...

    def derived_claims(self, index: Object) -> list[tuple[str, Object]]: ...

    def restore_rank(self, parsed: Any) -> tuple[int, ...]:
        """Where a stored claim comes in the replay that rebuilds an engine (claims of equal rank by name)."""
        ...

    def entry_spec(self, index: str, allocation: Allocation) -> Object: ...

    def entry_name(self, namespace: str, index: str, key: ValueKey, suffix: str) -> str:
        """The name of the Entry of the value ``key``, whose engine name part is ``suffix``."""
        ...


@dataclass
class IndexState:
    engine: Engine
    index: Object
    token: str
    # the claims to write again when the index changes or space is freed: those that failed, and those the
    # rebuild of the engine gave another value than their status names (an index that changed model)
    failed: set[str] = field(default_factory=set)
    # claim name -> (resourceVersion, count): the claim stored at that version is what admitting it gave when
    # the engine's ChangeLog was at that count, and is answered again as long as no change concerns it since
    admitted: dict[str, tuple[str, int]] = field(default_factory=dict)


def _md(obj: Object) -> Object:
    return obj.get("metadata") or {}


def _where(obj: Object) -> str:
    return f"{_md(obj).get('namespace', '')}/{_md(obj).get('name', '')}"


class Binding:
    """The hooks of one allocator (IPAM, VLAN, AS, GENID or EXTCOMM)."""

    def __init__(self, adapter: Adapter[Any], clock: Callable[[], str] = utc_now) -> None:
        self.adapter = adapter
        self.api_version = f"{adapter.group}/{VERSION}"
        self._states: dict[tuple[str, str], IndexState] = {}
        self._destroying: set[tuple[str, str]] = set()
        # (namespace, claim name) -> (state, count) of a claim admitted and being stored (``_remember``)
        self._pending: dict[tuple[str, str], tuple[IndexState, int]] = {}
        # (namespace, claim name) of the claims being admitted -> whether a change since concerns them
        self._admitting: dict[tuple[str, str], bool] = {}
        # (namespace, claim name) of the index-owned claims an index is writing (``_apply_derived``)
        self._deriving: set[tuple[str, str]] = set()
        self._clock = clock

    def install(self, api: HookHost) -> None:
        api.add_hook(self.adapter.group, self.adapter.index_kind, _Hook(self.admit_index, self.delete_index))
        api.add_hook(self.adapter.group, self.adapter.claim_kind,
                     _Hook(self.admit_claim, self.release_claim, self.claim_stored))

    def _invalid(self, kind: str, obj: Object, exc: Exception) -> Invalid:
        """The one-line rejection of an Index or Claim whose spec the engine cannot parse."""
        return Invalid(f'{kind}.{self.adapter.group} "{_where(obj)}" is invalid: spec: {exc}')

    def _check_entry_names(self, api: ObjectAPI, namespace: str, name: str, kind: str, obj: Object) -> None:
        """Refuse a range claim and an index of one allocator sharing a name: the entries of the values taken
        from the range (``<range claim>.<id>-32``) would have the names of the index's own (``<index>.<id>-32``)."""
        if not self.adapter.range_entries_drop_index:
            return
        if kind == self.adapter.claim_kind:
            clash = api.view(self.adapter.group, self.adapter.index_kind, namespace, name) is not None
            what = f'spec.range: a range claim cannot be named like the {self.adapter.index_kind} "{name}"'
        else:
            found = api.view(self.adapter.group, self.adapter.claim_kind, namespace, name)
            clash = found is not None and bool((found.get("spec") or {}).get("range"))
            what = f'metadata.name: the range {self.adapter.claim_kind} "{name}" has this name'
        if clash:
            raise Invalid(f'{kind}.{self.adapter.group} "{_where(obj)}" is invalid: {what}: their entries would '
                          "share names")

    # ============================================================== engine state

    def _token_key(self, namespace: str, name: str) -> str:
        return f"{self.adapter.group}/{namespace}/{name}"

    def state(self, api: ObjectAPI, namespace: str, name: str, index: Object | None = None) -> IndexState | None:
        """The up-to-date engine of an index, rebuilt from the store when stale; None if there is no index."""
        key = (namespace, name)
        if key in self._destroying:
            return None
        stored_token = api.records.get_record(TOKENS, self._token_key(namespace, name))
        state = self._states.get(key)
        remodelled = state is not None and index is not None and not self.adapter.engine_fits(state.engine, index)
        if state is not None and not remodelled and stored_token is not None and state.token == stored_token:
            if index is not None:
                state.index = index
            return state
        if index is None:
            index = api.try_get(self.adapter.group, self.adapter.index_kind, namespace, name)
        if index is None or _md(index).get("deletionTimestamp"):
            self._states.pop(key, None)
            return None
        state = self._rebuild(api, index)
        if stored_token is None or remodelled:
            self._touch(api, state)
        else:
            state.token = stored_token
        self._states[key] = state
        if remodelled:
            self._resync_entries(api, state)
        return state

    def _rebuild(self, api: ObjectAPI, index: Object) -> IndexState:
        namespace, name = _md(index).get("namespace", ""), _md(index)["name"]
        engine = self.adapter.new_engine(index)
        state = IndexState(engine, index, "")
        replay = []
        for claim in self._claims_of(api, namespace, name):
            status = claim.get("status") or {}
            if not _is_ready(claim):
                state.failed.add(_md(claim)["name"])
                continue
            if not any(status.get(f) is not None for f in self.adapter.value_fields):
                continue
            try:
                parsed = self.adapter.parse_claim(engine, index, claim, status)
            except ClaimSyntaxError:
                continue
            replay.append((self.adapter.restore_rank(parsed), _md(claim)["name"], parsed, status))
        for _rank, _name, parsed, status in sorted(replay, key=lambda item: item[:2]):
            try:
                outcome = engine.restore(parsed)
            except AllocationError:
                state.failed.add(parsed.name)
                continue
            if any(outcome.status.get(f) != status.get(f) for f in self.adapter.value_fields):
                state.failed.add(parsed.name)  # moved (another model's rules): written again with the failed
        engine.changes.drain()
        return state

    def _touch(self, api: ObjectAPI, state: IndexState) -> None:
        state.token = uuid.uuid4().hex
        md = _md(state.index)
        api.records.put_record(TOKENS, self._token_key(md.get("namespace", ""), md["name"]), state.token)

    def _claims_of(self, api: ObjectAPI, namespace: str, index: str) -> list[Object]:
        """The store's own claims of an index (no copies): callers only read them, never mutate them."""
        claims = api.view_list(self.adapter.group, self.adapter.claim_kind, namespace)
        return [c for c in claims if (c.get("spec") or {}).get("index") == index]

    # ============================================================== claims

    def admit_claim(self, api: ObjectAPI, old: Object | None, new: Object) -> None:
        md = _md(new)
        namespace, index_name = md.get("namespace", ""), str((new.get("spec") or {}).get("index", ""))
        self._pending.pop((namespace, md["name"]), None)
        if md.get("deletionTimestamp"):
            return
        if old is not None and (old.get("spec") or {}).get("index") != index_name:
            self.release_claim(api, old)
        previous = (old or {}).get("status") or {}  # only read: ``old`` is the API server's copy for the hooks
        state = self.state(api, namespace, index_name)
        admitted = state.admitted.pop(md["name"], None) if state is not None else None
        if state and admitted and old is not None and self._answered_again(api, state, admitted, old, new):
            state.admitted[md["name"]] = admitted
            self._pending[(namespace, md["name"])] = (state, admitted[1])
            return
        try:
            parsed = self.adapter.parse_claim(
                state.engine if state else None, state.index if state else None, new, previous
            )
        except (ClaimSyntaxError, ValueError) as exc:
            raise self._invalid(self.adapter.claim_kind, new, exc) from None
        if (new.get("spec") or {}).get("range"):
            self._check_entry_names(api, namespace, md["name"], self.adapter.claim_kind, new)
        if state is None:
            self._set_status(new, previous, {}, f"index {namespace}.{index_name} not initialized")
            return
        key = (namespace, md["name"])
        self._admitting[key] = False
        try:
            self._allocate(api, state, parsed, old, new, previous)
            while self._admitting[key] and _is_ready(new):
                # a claim this write changed told this one (its value now lies in a network, or its subnet's
                # gateway changed): it is worked out again here, from the status it was just given
                self._admitting[key] = False
                status = new.get("status") or {}
                again = self.adapter.parse_claim(state.engine, state.index, new, status)
                self._allocate(api, state, again, old, new, status)
        finally:
            del self._admitting[key]

    def _allocate(
        self, api: ObjectAPI, state: IndexState, parsed: Any, old: Object | None, new: Object, previous: Object
    ) -> None:
        """Work ``new`` out in its engine, set its status and pass on what changed."""
        name = _md(new)["name"]
        try:
            outcome = state.engine.claim(parsed)
        except AllocationError as exc:
            if (_md(new).get("namespace", ""), name) in self._deriving:
                # an index's own claim keeps what it holds: its write is refused (the engine may have let
                # values go already, so it is rebuilt from the store, where the claim is as it was)
                index_md = _md(state.index)
                rebuilt = self._rebuild(api, state.index)
                rebuilt.token = state.token
                self._states[(index_md.get("namespace", ""), index_md["name"])] = rebuilt
                raise _DerivedClaimRefused(self.adapter.claim_kind, new, str(exc)) from None
            # The claim joins the failed claims only once its old values are released and what that hands on
            # is done: the claims that lost values, and the retry of the failed claims, must not write this
            # claim again in the middle of its own write (its stored old spec would take its values back)
            state.failed.discard(name)
            dependents = sorted({*exc.dependents, *state.engine.release(name)})
            self._set_status(new, previous, {}, str(exc))
            self._after_change(api, state, dependents)
            state.failed.add(name)
            return
        state.failed.discard(name)
        self._set_status(new, previous, outcome.status, "")
        count = state.engine.changes.count
        self._after_change(api, state, outcome.dependents)
        self._remember(state, old, new, count)

    # A claim written again as it stands (reconcilers write each claim twice per reconcile, and again on every
    # reconcile) is answered from what its last admission gave, without parsing it or asking the engine: the
    # same spec and owners, stored at the version that admission stored, no change in the engine since that
    # concerns it (``ChangeLog.untouched``). Its engine would confirm it (the confirmation rule: a claim applied
    # again with the status it was given gets that status and changes nothing), so it keeps its status and
    # nothing else is written. The version is the stored claim's: a write rolled back takes it back with it.

    def _remember(self, state: IndexState, old: Object | None, new: Object, count: int) -> None:
        """Note that admitting ``new`` gave its status at ``count``: once it is stored (``claim_stored``), or at
        once when the write leaves the stored claim's spec, owners and status as they are. Called last in the
        admission: it replaces what the writes made meanwhile (of other claims, or of this one) noted."""
        md = _md(new)
        self._pending[(md.get("namespace", ""), md["name"])] = (state, count)
        if old is not None and _same_claim(old, new) and old.get("status") == new.get("status"):
            state.admitted[md["name"]] = (str(_md(old).get("resourceVersion", "")), count)
        else:
            state.admitted.pop(md["name"], None)

    def _answered_again(
        self, api: ObjectAPI, state: IndexState, admitted: tuple[str, int], old: Object, new: Object
    ) -> bool:
        """Whether ``new``, the stored claim ``old`` written again as it stands, is answered from its last
        admission (``admitted``); then it keeps its status and nothing else is written."""
        md = _md(new)
        if (
            admitted[0] != _md(old).get("resourceVersion")
            or not state.engine.changes.untouched(md["name"], admitted[1])
            or not _same_claim(old, new)
        ):
            return False
        if (new.get("spec") or {}).get("range"):
            self._check_entry_names(api, md.get("namespace", ""), md["name"], self.adapter.claim_kind, new)
        if new.get("status") != old.get("status"):
            new["status"] = _tree_copy(old.get("status"))
        return True

    def claim_stored(self, api: ObjectAPI, old: Object | None, stored: Object) -> None:
        md = _md(stored)
        pending = self._pending.pop((md.get("namespace", ""), md["name"]), None)
        if pending is not None:
            state, count = pending
            state.admitted[md["name"]] = (str(md.get("resourceVersion", "")), count)

    def release_claim(self, api: ObjectAPI, obj: Object) -> None:
        md = _md(obj)
        index_name = str((obj.get("spec") or {}).get("index", ""))
        state = self.state(api, md.get("namespace", ""), index_name)
        if state is None:
            return
        state.failed.discard(md["name"])
        state.admitted.pop(md["name"], None)
        dependents = state.engine.release(md["name"])
        self._after_change(api, state, dependents, retry_failed=True)

    def _set_status(self, obj: Object, previous: Object, values: Object, error: str) -> None:
        status: Object = dict(values)
        if previous.get("conditions"):  # flat maps of strings (the CRD's schema); set_condition replaces, not edits
            status["conditions"] = [dict(c) if isinstance(c, dict) else c for c in previous["conditions"]]
        obj["status"] = status
        message = f"{self.adapter.failure_prefix}{error}" if error else ""
        set_condition(obj, READY, message, self._clock())

    def _after_change(
        self, api: ObjectAPI, state: IndexState, dependents: list[str], *, retry_failed: bool = False
    ) -> None:
        changed = state.engine.changes.drain()
        if not (changed or dependents or retry_failed):
            return  # the claim was confirmed as it stands: no entry, token or other claim to write
        self._touch(api, state)
        freed = self._flush_entries(api, state, changed)
        md = _md(state.index)
        for name in dependents:
            self._reevaluate(api, md.get("namespace", ""), name)
        if retry_failed or dependents or freed:
            self._retry_failed(api, state)

    def _reevaluate(self, api: ObjectAPI, namespace: str, name: str) -> None:
        """Write a claim again so that its admission allocates it afresh; a claim in the middle of its own
        write (its stored old spec would take its old values back) is worked out again there instead."""
        if (namespace, name) in self._admitting:
            self._admitting[(namespace, name)] = True
            return
        current = api.try_get(self.adapter.group, self.adapter.claim_kind, namespace, name)
        if current is not None and not _md(current).get("deletionTimestamp"):
            api.update(current)

    def _retry_failed(self, api: ObjectAPI, state: IndexState) -> None:
        """Try the failed claims again, in the order a rebuild replays claims (``restore_rank``, then name):
        a static claim before a dynamic one that could take its value, as the same claims in a new index."""
        namespace = _md(state.index).get("namespace", "")
        for _rank, name in sorted(self._retry_rank(api, state, namespace, name) for name in state.failed):
            state.failed.discard(name)
            self._reevaluate(api, namespace, name)

    def _retry_rank(
        self, api: ObjectAPI, state: IndexState, namespace: str, name: str
    ) -> tuple[tuple[int, ...], str]:
        """Where a failed claim comes in a retry: its replay rank; last when it is gone or does not parse."""
        claim = api.view(self.adapter.group, self.adapter.claim_kind, namespace, name)
        try:
            parsed = None if claim is None else self.adapter.parse_claim(state.engine, state.index, claim, {})
        except (ClaimSyntaxError, ValueError):
            parsed = None
        return ((1,) if parsed is None else (0, *self.adapter.restore_rank(parsed))), name

    def _flush_entries(self, api: ObjectAPI, state: IndexState, changed: list[ValueKey]) -> bool:
        """Write or remove the entries of the values the engine changed (and only those); whether a value was
        let go (space freed: the failed claims are then tried again)."""
        md = _md(state.index)
        namespace, index = md.get("namespace", ""), md["name"]
        freed = False
        for key in changed:
            allocation = state.engine.allocation(key)
            if allocation is None:
                freed = True
                name = self.adapter.entry_name(namespace, index, key, state.engine.entry_suffix(key))
                if api.view(self.adapter.group, self.adapter.entry_kind, namespace, name) is not None:
                    api.delete(self.adapter.group, self.adapter.entry_kind, namespace, name)
                continue
            api.apply(self._entry(namespace, index, allocation), manager=ENTRY_MANAGER, force=True)
        return freed

    def _resync_entries(self, api: ObjectAPI, state: IndexState) -> None:
        """Make the index's entries mirror its engine exactly (after the engine was rebuilt in another model)."""
        md = _md(state.index)
        namespace, index = md.get("namespace", ""), md["name"]
        wanted = {self._entry(namespace, index, a)["metadata"]["name"]: a for a in state.engine.allocations()}
        for entry in api.view_list(self.adapter.group, self.adapter.entry_kind, namespace):  # only read
            name = _md(entry)["name"]
            if (entry.get("spec") or {}).get("index") == index and name not in wanted:
                api.delete(self.adapter.group, self.adapter.entry_kind, namespace, name)
        for allocation in wanted.values():
            api.apply(self._entry(namespace, index, allocation), manager=ENTRY_MANAGER, force=True)

    def _entry(self, namespace: str, index: str, allocation: Allocation) -> Object:
        return {
            "apiVersion": self.api_version,
            "kind": self.adapter.entry_kind,
            "metadata": {
                "name": self.adapter.entry_name(namespace, index, allocation.key, allocation.name),
                "namespace": namespace,
                "ownerReferences": [
                    {
                        "apiVersion": self.api_version,
                        "kind": allocation.kind or self.adapter.claim_kind,
                        "name": allocation.owner,
                        "uid": allocation.uid,
                    }
                ],
            },
            "spec": self.adapter.entry_spec(index, allocation),
        }

    # ============================================================== indexes

    def admit_index(self, api: ObjectAPI, old: Object | None, new: Object) -> None:
        md = _md(new)
        if md.get("deletionTimestamp"):
            return
        try:
            self.adapter.validate_index(new)
        except (ClaimSyntaxError, ValueError) as exc:
            raise self._invalid(self.adapter.index_kind, new, exc) from None
        self._check_entry_names(api, md.get("namespace", ""), md["name"], self.adapter.index_kind, new)
        state = self.state(api, md.get("namespace", ""), md["name"], index=new)
        assert state is not None
        errors = self._apply_derived(api, new)
        state = self.state(api, md.get("namespace", ""), md["name"], index=new)  # rebuilt when a claim was refused
        assert state is not None
        self._retry_failed(api, state)
        previous = (old or {}).get("status") or {}
        new["status"] = {"conditions": copy.deepcopy(previous.get("conditions") or [])}
        set_condition(new, READY, f"cannot apply index err {'; '.join(errors)}" if errors else "", self._clock())

    def _apply_derived(self, api: ObjectAPI, index: Object) -> list[str]:
        md = _md(index)
        namespace, name = md.get("namespace", ""), md["name"]
        wanted = {claim_name: spec for claim_name, spec in self.adapter.derived_claims(index)}
        owner = {
            "apiVersion": self.api_version,
            "kind": self.adapter.index_kind,
            "name": name,
            "uid": md.get("uid", ""),
            "controller": True,
        }
        for claim in api.view_list(self.adapter.group, self.adapter.claim_kind, namespace):  # only read
            refs = _md(claim).get("ownerReferences") or []
            mine = any(r.get("kind") == self.adapter.index_kind and r.get("name") == name for r in refs)
            if mine and _md(claim)["name"] not in wanted:
                api.delete(self.adapter.group, self.adapter.claim_kind, namespace, _md(claim)["name"])
        errors: dict[str, str] = {}
        pending = list(wanted)
        while pending:
            # a claim refused now may fit once the index's later claims are written (an aggregate retyped a
            # pool no longer nests under another): the refused ones are tried again while some get through
            refused = []
            for claim_name in pending:
                obj = {
                    "apiVersion": self.api_version,
                    "kind": self.adapter.claim_kind,
                    "metadata": {"name": claim_name, "namespace": namespace, "ownerReferences": [owner]},
                    "spec": wanted[claim_name],
                }
                error, was_refused = self._write_derived(api, obj)
                errors.pop(claim_name, None)
                if error:
                    errors[claim_name] = error
                if was_refused:
                    refused.append(claim_name)
            pending = refused if len(refused) < len(pending) else []
        return [errors[claim_name] for claim_name in wanted if claim_name in errors]

    def _write_derived(self, api: ObjectAPI, obj: Object) -> tuple[str, bool]:
        """Apply an index's own claim: its error ("" when Ready) and whether its write was refused."""
        key = (_md(obj)["namespace"], _md(obj)["name"])
        self._deriving.add(key)
        try:
            stored = api.apply(obj, manager=INDEX_MANAGER, force=True)
        except _DerivedClaimRefused as refusal:
            return refusal.error, True
        finally:
            self._deriving.discard(key)
        ready = get_condition(stored, READY)
        if ready is not None and ready.get("status") != "True":
            return str(ready.get("message", "")).removeprefix(self.adapter.failure_prefix), False
        return "", False

    def delete_index(self, api: ObjectAPI, obj: Object) -> None:
        md = _md(obj)
        namespace, name = md.get("namespace", ""), md["name"]
        key = (namespace, name)
        self._destroying.add(key)
        try:
            for claim in self._claims_of(api, namespace, name):
                if api.view(self.adapter.group, self.adapter.claim_kind, namespace, _md(claim)["name"]) is not None:
                    api.delete(self.adapter.group, self.adapter.claim_kind, namespace, _md(claim)["name"])
            for entry in api.view_list(self.adapter.group, self.adapter.entry_kind, namespace):  # only read
                if (entry.get("spec") or {}).get("index") == name:
                    api.delete(self.adapter.group, self.adapter.entry_kind, namespace, _md(entry)["name"])
        finally:
            self._destroying.discard(key)
        self._states.pop(key, None)
        api.records.delete_record(TOKENS, self._token_key(namespace, name))


class _DerivedClaimRefused(Invalid):
    """The write of an index's own claim (a reserved min/max range, an index prefix) that its engine cannot
    grant, refused as the reference refuses it: the claim keeps what it holds, so narrowing an index's
    bounds over ids in use never frees the reserved ones. ``error`` is the engine's message, for the index's
    condition."""

    def __init__(self, kind: str, claim: Object, error: str) -> None:
        group = str(claim.get("apiVersion", "")).partition("/")[0]
        super().__init__(f'{kind}.{group} "{_where(claim)}" is invalid: spec: {error}')
        self.error = error


def _same_claim(old: Object, new: Object) -> bool:
    """Whether ``new`` asks what the stored ``old`` asks: the same spec, uid and owners (which say whether
    the index owns it)."""
    old_md, new_md = _md(old), _md(new)
    return (
        new.get("spec") == old.get("spec")
        and new_md.get("uid") == old_md.get("uid")
        and new_md.get("ownerReferences") == old_md.get("ownerReferences")
    )


def _tree_copy(value: Any) -> Any:
    """A copy of a JSON value (maps, lists, scalars) that shares nothing with it."""
    if isinstance(value, dict):
        return {k: _tree_copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_tree_copy(v) for v in value]
    return value


def _is_ready(obj: Object) -> bool:
    ready = get_condition(obj, READY)
    return ready is not None and ready.get("status") == "True"


class _Hook(BaseHook):
    """Hands the API server's admission and deletion calls for one kind to the binding."""

    def __init__(
        self,
        admit: Callable[[ObjectAPI, Object | None, Object], None],
        deleting: Callable[[ObjectAPI, Object], None],
        stored: Callable[[ObjectAPI, Object | None, Object], None] | None = None,
    ) -> None:
        self._admit, self._deleting, self._stored = admit, deleting, stored

    def admit(self, api: ObjectAPI, old: Object | None, new: Object) -> None:
        self._admit(api, old, new)

    def stored(self, api: ObjectAPI, old: Object | None, new: Object) -> None:
        if self._stored is not None:
            self._stored(api, old, new)

    def deleting(self, api: ObjectAPI, obj: Object) -> None:
        self._deleting(api, obj)

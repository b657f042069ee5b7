"""moto's server, with DynamoDB requests serialized, SQS indexed and two Secrets Manager answers corrected.

1. DynamoDB. moto's stock server handles requests on threads without a lock around its DynamoDB backend, so two
   concurrent TransactWriteItems can both pass their conditions. Real DynamoDB never allows that, and the
   attempt ledger's guarantee rests on it. This wrapper runs moto's own WSGI app behind a lock for DynamoDB calls
   only (SQS long polls stay concurrent).

2. SQS. moto 5.2.5 keeps a queue as one list and rescans it on every call: each send, receive, delete and
   visibility change walks every stored message (the approximate counts, `Queue.messages`, FIFO group checks,
   deduplication, receipt-handle lookups), several times per message. A call's cost grows with queue depth
   (real SQS's does not), so the ops benchmarks measured moto rather than the CLI. `patch_sqs()` keeps moto's
   classes, its message objects and its rules, and only swaps those scans for indexes kept up to date at
   each change. See `_SqsIndex` and `_receive_pass` for what is kept and why it matches moto.

3. Secrets Manager. moto 5.2.5's ListSecretVersionIds reports every version's CreatedDate as "now"; real Secrets
   Manager reports when the version was stored (GetSecretValue already does). The hold check compares that date
   with the time Meta says a PIN changed, so `patch_secret_version_dates()` returns the stored date.
   moto 5.2.5's UpdateSecretVersionStage moves the AWSCURRENT label but not the version a GetSecretValue without
   VersionId or VersionStage returns; real Secrets Manager returns the AWSCURRENT version. A PIN rotation's
   finishSecret moves the label, and the worker then reads the new PIN with a plain GetSecretValue, so
   `patch_secret_current_label()` keeps the two together.

Usage: moto_server.py -H 127.0.0.1 -p PORT
Set WA_REGISTRAR_MOTO_STOCK_SQS=1 to run moto's SQS unpatched (to compare figures, or to tell an emulator problem
from a code problem).
"""
import argparse
import bisect
import functools
import heapq
import os
import sys
import threading
from copy import deepcopy
from typing import Any

# --------------------------------------------------------------------------------------------------- SQS
#
# What moto 5.2.5 does, and what replaces it (moto/sqs/models.py):
# - `Queue.approximate_number_of_messages*` and `Queue.messages` build lists over every stored message; they run
#   on every `Queue.attributes` read, which moto does 5 times per message sent (`_validate_message` twice per
#   batch entry, `send_message`) and 3 times per message received (the retention check).
#   -> the counts are the sizes of sets of ready / invisible / delayed messages, brought up to date from heaps
#      ordered by `visible_at` / `delayed_until` when the clock passes them.
# - `Queue.attributes` also runs `camelcase_to_underscores` (a character loop) over 18 names per read.
#   -> cached (a pure function), for moto.sqs.models only.
# - `Queue.add_message` scans every stored message for a FIFO deduplication id. -> a dict by deduplication id.
# - `Queue.delete_message` and `SQSBackend.change_message_visibility` scan every message's receipt handles
#   (current and earlier ones). -> a dict from each handle a stored message has had to the message.
# - `SQSBackend.receive_message` walks all visible messages in arrival order, skipping groups with a message
#   in flight (a copied set of pending groups, recomputed when a pending message is found visible again).
#   -> `_receive_pass` walks the same order but only over messages it may deliver: per FIFO group a sorted list
#      of its visible messages, and a sorted list of "heads" (the first visible message of every group with
#      nothing in flight, plus every visible message that has no group).
# - A long poll (`WaitTimeSeconds`) re-runs the walk whenever any message is visible, so it spins while the
#   only visible ones are in blocked groups. -> it waits (up to 1 s, as moto) for a send, delete or visibility
#   change on the queue or for the next timeout to run out.
# Kept as moto has them, on purpose, quirks included: arrival order, the group rules (a receive may return several
# messages of one group; when several in-flight messages of a group expire together, moto redelivers the group out
# of order), receive counts and the move to the dead-letter queue at `maxReceiveCount`, deduplication against
# stored messages only, the retention check, the error for an unknown receipt handle, purges.
# The sorted lists are Python lists kept with `bisect` (an insert or removal moves memory, not Python objects).
# Messages keep their arrival order (a sequence number per queue). Every SQS backend call runs under one lock
# (SQS_LOCK); a long poll waits on a condition over that lock, so a waiting receive does not hold it.
# test/support/moto-sqs-trace.py runs random operation sequences against stock and patched moto and
# test/integration/moto-sqs-differential.test.ts checks that they answer and store exactly the same.

PATCHED_MOTO_VERSION = "5.2.5"  # the patch mirrors this version's code; any other version runs unpatched
SQS_LOCK = threading.RLock()
_INF = float("inf")


def _remove_sorted(values: list, value: int) -> None:
    position = bisect.bisect_left(values, value)
    if position < len(values) and values[position] == value:
        del values[position]


class _Lane:
    """One FIFO message group: its visible messages (sorted sequence numbers) and how many are pending."""

    __slots__ = ("ready", "pending", "size", "head")

    def __init__(self) -> None:
        self.ready: list[int] = []
        self.pending = 0  # messages of the group in moto's `pending_messages` (what blocks the group)
        self.size = 0  # stored messages of the group
        self.head: int | None = None  # the sequence number this group has in `_SqsIndex.heads`, if any


class _SqsIndex:
    """Indexes over one queue's stored messages. Message state stays on moto's `Message` objects and in the
    queue's `_pending_messages` set; `sync(message)` brings the index in line after any change to them."""

    def __init__(self, queue: Any) -> None:
        self.queue = queue
        self.next_seq = 0
        self.store: dict[int, Any] = {}  # sequence number -> message, in arrival order (what `_messages` was)
        self.info: dict[Any, tuple[int, Any]] = {}  # message -> (sequence number, group or None)
        self.handles: dict[str, Any] = {}  # every receipt handle a stored message has had -> that message
        self.dedup: dict[Any, dict[Any, None]] = {}  # deduplication id -> stored messages carrying it
        self.ready: set = set()  # visible and not delayed (moto's `Queue.messages`)
        self.invisible: dict[Any, float] = {}  # message -> the `visible_at` its heap entry was made for
        self.delayed: dict[Any, float] = {}  # message -> the `delayed_until` its heap entry was made for
        self.invisible_heap: list[tuple[float, int]] = []
        self.delayed_heap: list[tuple[float, int]] = []
        self.counted_pending: set = set()  # messages counted in their lane's `pending`
        self.lanes: dict[Any, _Lane] = {}
        # Sorted sequence numbers of the messages a receive may start from: every visible message without a
        # group, and the first visible message of every group with nothing pending.
        self.heads: list[int] = []
        # Sorted sequence numbers of grouped messages that are pending yet visible again (their visibility timeout
        # ran out, or was 0): moto's receive un-pends these when it walks past them.
        self.expired: list[int] = []
        self.expired_set: set = set()
        self.frozen = False  # while a receive walks the lists, the clock does not move messages between them

    # ------------------------------------------------------------------ membership

    def lane_of(self, message: Any) -> Any:
        # moto checks groups only `if message.group_id and queue.fifo_queue`.
        return message.group_id if (self.queue.fifo_queue and message.group_id) else None

    def add(self, message: Any, now: float) -> None:
        seq = self.next_seq
        self.next_seq += 1
        group = self.lane_of(message)
        self.store[seq] = message
        self.info[message] = (seq, group)
        for handle in message.all_receipt_handles:
            if handle is not None:
                self.handles[handle] = message
        self.dedup.setdefault(message.deduplication_id, {})[message] = None
        if group is not None:
            lane = self.lanes.get(group)
            if lane is None:
                lane = self.lanes[group] = _Lane()
            lane.size += 1
        self.sync(message, now)

    def forget(self, message: Any) -> None:
        seq, group = self.info.pop(message)
        del self.store[seq]
        for handle in message.all_receipt_handles:
            if handle is not None and self.handles.get(handle) is message:
                del self.handles[handle]
        bucket = self.dedup.get(message.deduplication_id)
        if bucket is not None:
            bucket.pop(message, None)
            if not bucket:
                del self.dedup[message.deduplication_id]
        self.invisible.pop(message, None)  # its heap entries go stale and are skipped
        self.delayed.pop(message, None)
        lane = self.lanes.get(group) if group is not None else None
        if message in self.ready:
            self.ready.discard(message)
            _remove_sorted(lane.ready if lane is not None else self.heads, seq)
        if message in self.counted_pending:
            self.counted_pending.discard(message)
            if lane is not None:
                lane.pending -= 1
        if message in self.expired_set:
            self.expired_set.discard(message)
            _remove_sorted(self.expired, seq)
        if lane is not None:
            lane.size -= 1
            self._fix_head(group, lane)
            if lane.size == 0 and lane.pending == 0:
                del self.lanes[group]

    def sync(self, message: Any, now: float) -> None:
        """Brings the index in line with the message's state (visible_at, delayed_until, pending, handle) at `now`."""
        info = self.info.get(message)
        if info is None:
            return
        seq, group = info
        if message.receipt_handle is not None:
            self.handles[message.receipt_handle] = message
        # moto: `visible` is `now > visible_at`, `delayed` is `now < delayed_until`.
        invisible = not (now > message.visible_at)
        delayed = now < message.delayed_until
        if invisible:
            if self.invisible.get(message) != message.visible_at:
                self.invisible[message] = message.visible_at
                heapq.heappush(self.invisible_heap, (message.visible_at, seq))
                self._compact()
        else:
            self.invisible.pop(message, None)
        if delayed:
            if self.delayed.get(message) != message.delayed_until:
                self.delayed[message] = message.delayed_until
                heapq.heappush(self.delayed_heap, (message.delayed_until, seq))
        else:
            self.delayed.pop(message, None)
        lane = self.lanes[group] if group is not None else None
        pending = message in self.queue._pending_messages
        if pending != (message in self.counted_pending):
            if pending:
                self.counted_pending.add(message)
            else:
                self.counted_pending.discard(message)
            if lane is not None:
                lane.pending += 1 if pending else -1
        ready = not invisible and not delayed
        if ready != (message in self.ready):
            target = lane.ready if lane is not None else self.heads
            if ready:
                self.ready.add(message)
                bisect.insort(target, seq)
            else:
                self.ready.discard(message)
                _remove_sorted(target, seq)
        if lane is not None:
            expired = pending and ready
            if expired != (message in self.expired_set):
                if expired:
                    self.expired_set.add(message)
                    bisect.insort(self.expired, seq)
                else:
                    self.expired_set.discard(message)
                    _remove_sorted(self.expired, seq)
            self._fix_head(group, lane)

    def _fix_head(self, group: Any, lane: _Lane) -> None:
        head = lane.ready[0] if (lane.ready and lane.pending == 0) else None
        if head != lane.head:
            if lane.head is not None:
                _remove_sorted(self.heads, lane.head)
            if head is not None:
                bisect.insort(self.heads, head)
            lane.head = head

    def _compact(self) -> None:
        # Extended visibility timeouts and deletions leave stale heap entries; rebuild when they dominate.
        if len(self.invisible_heap) > 64 and len(self.invisible_heap) > 4 * len(self.invisible):
            self.invisible_heap = [(visible_at, self.info[message][0]) for message, visible_at in self.invisible.items()]
            heapq.heapify(self.invisible_heap)

    # ------------------------------------------------------------------ the clock

    def refresh(self, now: float) -> None:
        """Moves the messages whose visibility timeout or delay ran out by `now` back to the ready lists."""
        if self.frozen:
            return
        heap = self.invisible_heap
        while heap and heap[0][0] < now:
            visible_at, seq = heapq.heappop(heap)
            message = self.store.get(seq)
            if message is not None and self.invisible.get(message) == visible_at:
                self.sync(message, now)
        heap = self.delayed_heap
        while heap and heap[0][0] <= now:
            delayed_until, seq = heapq.heappop(heap)
            message = self.store.get(seq)
            if message is not None and self.delayed.get(message) == delayed_until:
                self.sync(message, now)

    def next_change_seconds(self, now: float) -> float:
        """Seconds until the clock next moves a message (a long poll's wake-up), or inf."""
        times = [heap[0][0] for heap in (self.invisible_heap, self.delayed_heap) if heap]
        return max(0.0, (min(times) - now) / 1000) if times else _INF


def _index(queue: Any) -> _SqsIndex:
    return queue.__dict__["_wa_index"]


def patch_sqs() -> None:
    """Swaps moto 5.2.5's per-call scans of an SQS queue for indexes. Idempotent."""
    import moto
    from moto.sqs import models

    if getattr(models, "_wa_indexed", False):
        return
    if moto.__version__ != PATCHED_MOTO_VERSION:
        print(
            f"moto_server.py: moto {moto.__version__} is not {PATCHED_MOTO_VERSION}; SQS runs unpatched (slow on deep queues)",
            file=sys.stderr,
        )
        return
    Queue, SQSBackend = models.Queue, models.SQSBackend
    now_ms = lambda: models.unix_time_millis()  # noqa: E731 (looked up per call: tests may replace the clock)

    # `Queue.attributes` converts 18 attribute names with `camelcase_to_underscores` (a character loop) on every
    # read, and moto reads it 5 times per message sent and 3 per message received. The function is pure: cache
    # it, for this module only.
    models.camelcase_to_underscores = functools.lru_cache(maxsize=1024)(models.camelcase_to_underscores)

    # -- Queue: `_messages` becomes a view of the index (moto only appends, removes and resets it, all below).
    def get_messages(self: Any) -> list:
        index = self.__dict__.get("_wa_index")
        return list(index.store.values()) if index is not None else []

    def set_messages(self: Any, messages: list) -> None:
        # moto assigns `[]` in `__init__` and `purge_queue`.
        index = _SqsIndex(self)
        self.__dict__["_wa_index"] = index
        now = now_ms()
        for message in messages:
            index.add(message, now)

    Queue._messages = property(get_messages, set_messages)

    original_init = Queue.__init__

    def queue_init(self: Any, *args: Any, **kwargs: Any) -> None:
        original_init(self, *args, **kwargs)
        # Long polls wait on this; sharing SQS_LOCK lets a waiting receive release it.
        self._messages_lock = threading.Condition(SQS_LOCK)

    Queue.__init__ = queue_init

    def counted(select: Any) -> property:
        def count(self: Any) -> int:
            index = _index(self)
            index.refresh(now_ms())
            return len(select(index))

        return property(count)

    # moto: len([m for m in _messages if m.delayed]), len([... if not m.visible]), len(self.messages).
    Queue.approximate_number_of_messages_delayed = counted(lambda index: index.delayed)
    Queue.approximate_number_of_messages_not_visible = counted(lambda index: index.invisible)
    Queue.approximate_number_of_messages = counted(lambda index: index.ready)

    def messages(self: Any) -> list:
        # Same list as moto's (visible, not delayed, arrival order); nothing on a hot path reads it any more.
        index = _index(self)
        index.refresh(now_ms())
        return [message for message in index.store.values() if message in index.ready]

    Queue.messages = property(messages)

    def add_message(self: Any, message: Any) -> None:
        index = _index(self)
        with self._messages_lock:
            if self.fifo_queue:
                # moto: `self.attributes.get("ContentBasedDeduplication") == "true"` (a bool rendered lower-case).
                content_based = self.content_based_deduplication
                if content_based is True or content_based == "true" or message.deduplication_id:
                    # moto drops the message if any stored message has its deduplication id and was sent less than
                    # DEDUPLICATION_TIME_IN_SECONDS before it (deleted messages are forgotten, as in moto).
                    for other in index.dedup.get(message.deduplication_id, ()):
                        if (message.sent_timestamp - other.sent_timestamp) / 1000 < models.DEDUPLICATION_TIME_IN_SECONDS:
                            return
            index.add(message, now_ms())
            self._messages_lock.notify_all()
        # Unchanged from moto: Lambda event source mappings on the queue (unused by this project).
        for arn, esm in self.lambda_event_source_mappings.items():
            if not esm.enabled:
                continue
            backend = models.sqs_backends[self.account_id][self.region]
            received = backend.receive_message(
                self.name, esm.batch_size, self.receive_message_wait_time_seconds, self.visibility_timeout
            )
            from moto.awslambda.utils import get_backend

            result = get_backend(self.account_id, self.region).send_sqs_batch(arn, received, self.queue_arn)
            if result:
                for m in received:
                    backend.delete_message(self.name, m.receipt_handle)
            else:
                for m in received:
                    backend.change_message_visibility(self.name, m.receipt_handle, visibility_timeout=0)

    Queue.add_message = add_message

    def delete_message(self: Any, receipt_handle: str) -> None:
        with self._messages_lock:
            if receipt_handle in self.deleted_messages:
                return  # moto: already deleted, deleting again succeeds
            index = _index(self)
            message = index.handles.get(receipt_handle)  # moto: any(m.had_receipt_handle(...)) over all messages
            if message is None:
                raise models.ReceiptHandleIsInvalid()
            self.pending_messages.discard(message)
            self.deleted_messages.update(message.all_receipt_handles)
            index.forget(message)
            self._messages_lock.notify_all()  # a group may be unblocked for a waiting receive

    Queue.delete_message = delete_message

    def wait_for_messages(self: Any, timeout: int) -> None:
        index = _index(self)

        def any_ready() -> bool:
            index.refresh(now_ms())
            return bool(index.ready)

        with self._messages_lock:
            self._messages_lock.wait_for(any_ready, timeout=timeout)

    Queue.wait_for_messages = wait_for_messages

    # -- SQSBackend
    def change_message_visibility(self: Any, queue_name: str, receipt_handle: str, visibility_timeout: int) -> None:
        queue = self.get_queue(queue_name)
        index = _index(queue)
        message = index.handles.get(receipt_handle)  # moto: the first message that ever had this handle
        if message is None:
            raise models.ReceiptHandleIsInvalid
        # From here on as moto.
        visibility_timeout_msec = int(visibility_timeout) * 1000
        given_visibility_timeout = models.unix_time_millis() + visibility_timeout_msec
        if given_visibility_timeout - message.sent_timestamp > 43200 * 1000:
            raise models.InvalidParameterValue(
                f"Value {visibility_timeout} for parameter VisibilityTimeout is invalid. Reason: Total "
                "VisibilityTimeout for the message is beyond the limit [43200 seconds]"
            )
        message.change_visibility(visibility_timeout)
        if message.visible and message in queue.pending_messages:
            queue.pending_messages.remove(message)
        index.sync(message, now_ms())
        with queue._messages_lock:
            queue._messages_lock.notify_all()

    SQSBackend.change_message_visibility = change_message_visibility

    def receive_message(
        self: Any,
        queue_name: str,
        count: int,
        wait_seconds_timeout: int,
        visibility_timeout: int,
        message_attribute_names: list[str] | None = None,
    ) -> list:
        if message_attribute_names is None:
            message_attribute_names = []
        queue = self.get_queue(queue_name)
        result: list = []
        polling_end = models.unix_time() + wait_seconds_timeout
        while True:
            if result or (wait_seconds_timeout and models.unix_time() > polling_end):
                break
            result = _receive_pass(self, queue, queue_name, count, visibility_timeout, message_attribute_names)
            if not result:
                if wait_seconds_timeout == 0:
                    break
                # moto waits up to 1 s for any visible message, and spins while the only visible ones are in
                # blocked groups. Here: up to 1 s, until the poll ends, until a timeout runs out, or until a send,
                # delete or visibility change on the queue notifies.
                index = _index(queue)
                timeout = min(
                    1.0,
                    max(0.0, polling_end - models.unix_time()) + 0.005,
                    index.next_change_seconds(now_ms()) + 0.001,
                )
                with queue._messages_lock:
                    queue._messages_lock.wait(timeout=timeout)
        return result

    SQSBackend.receive_message = receive_message

    def _receive_pass(backend: Any, queue: Any, queue_name: str, count: int, visibility_timeout: int, attribute_names: list[str]) -> list:
        """One pass of moto's receive loop, in moto's order and with moto's group rules:

        moto walks the visible, undelayed messages in arrival order. A visited message that is still pending (its
        timeout ran out) leaves `pending_messages` and the set of blocked groups is recomputed from what is pending
        now (including messages delivered earlier in this pass). A message of a blocked group is skipped;
        otherwise it goes to the dead-letter queue if it was received `maxReceiveCount` times, or is delivered
        (pending, marked received). The pass stops at `count` messages, or at a message beyond its retention.

        The walk visits the same messages in the same order, minus those it would skip as blocked: it merges the
        heads list, the visible-again pending messages (where moto recomputes) and, for each group it enters,
        the group's own sorted list. The lists are read, not changed, during the walk; the index follows the
        messages' new state afterwards.
        """
        index = _index(queue)
        now = now_ms()
        index.refresh(now)
        pending = queue._pending_messages
        store, info, lanes = index.store, index.info, index.lanes
        heads, expired = index.heads, index.expired
        # Pending counts per group as moto's live `pending_messages`, and moto's copied set of pending groups
        # (`currently_pending_groups`): `snapshot` holds, for groups changed since it was last recomputed,
        # their count at that time.
        delta: dict[Any, int] = {}
        snapshot: dict[Any, int] = {}

        def blocked(group: Any) -> bool:
            if group in snapshot:
                return snapshot[group] > 0
            return lanes[group].pending + delta.get(group, 0) > 0

        def change(group: Any, by: int) -> None:
            if group not in snapshot:
                snapshot[group] = lanes[group].pending + delta.get(group, 0)
            delta[group] = delta.get(group, 0) + by

        redrive = queue.dead_letter_queue is not None and queue.redrive_policy
        max_receives = queue.redrive_policy["maxReceiveCount"] if redrive else None
        result: list = []
        to_dlq: list = []
        changed: list = []
        cursors: list[tuple[int, int, Any]] = []  # (sequence number, position in the group's list, group)
        entered: set = set()  # groups with a cursor
        next_head = next_expired = 0
        index.frozen = True
        try:
            while True:
                head = heads[next_head] if next_head < len(heads) else _INF
                again = expired[next_expired] if next_expired < len(expired) else _INF
                cursor = cursors[0][0] if cursors else _INF
                if again <= head and again <= cursor:
                    if again == _INF:
                        break
                    # moto: `if message in queue.pending_messages: remove; recompute the pending groups`.
                    next_expired += 1
                    message = store[again]
                    group = info[message][1]
                    if message in pending:
                        pending.remove(message)
                        change(group, -1)
                        changed.append(message)
                        snapshot.clear()
                    if not blocked(group) and group not in entered:
                        # The group is free from here on: walk its list from this message.
                        position = bisect.bisect_left(lanes[group].ready, again)
                        heapq.heappush(cursors, (again, position, group))
                        entered.add(group)
                    continue
                if cursor < head:
                    _, position, group = heapq.heappop(cursors)
                    if blocked(group):
                        entered.discard(group)  # moto skips the rest of the group (until a recompute frees it)
                        continue
                    lane = lanes[group]
                    message = store[lane.ready[position]]
                    if position + 1 < len(lane.ready):
                        heapq.heappush(cursors, (lane.ready[position + 1], position + 1, group))
                    else:
                        entered.discard(group)
                else:
                    next_head += 1
                    message = store[head]
                    group = info[message][1]
                    if group is None:
                        if message in pending:
                            pending.remove(message)
                            changed.append(message)
                            snapshot.clear()
                    else:
                        if blocked(group) or group in entered:
                            continue
                        lane = lanes[group]
                        if len(lane.ready) > 1:
                            heapq.heappush(cursors, (lane.ready[1], 1, group))
                            entered.add(group)
                # From here on moto's loop body, after its group check.
                if redrive and message.approximate_receive_count >= max_receives:
                    to_dlq.append(message)
                    continue
                pending.add(message)
                if group is not None:
                    change(group, +1)
                message.mark_received(visibility_timeout=visibility_timeout)
                changed.append(message)
                message_copy = deepcopy(message)
                models._filter_message_attributes(message_copy, attribute_names)
                if not backend.is_message_valid_based_on_retention_period(queue_name, message):
                    break
                result.append(message_copy)
                if len(result) >= count:
                    break
        finally:
            index.frozen = False
            now = now_ms()
            for message in changed:
                index.sync(message, now)
        for message in to_dlq:
            index.forget(message)  # moto: queue._messages.remove(message)
            queue.dead_letter_queue.add_message(message)
        return result

    # Every backend call runs under SQS_LOCK (re-entrant; a long poll's wait releases it).
    def locked(method: Any) -> Any:
        def call(*args: Any, **kwargs: Any) -> Any:
            with SQS_LOCK:
                return method(*args, **kwargs)

        call.__name__ = method.__name__
        call.__doc__ = method.__doc__
        return call

    for name, value in list(vars(SQSBackend).items()):
        if callable(value) and not name.startswith("_"):
            setattr(SQSBackend, name, locked(value))

    models._wa_indexed = True


# --------------------------------------------------------------------------------------------------- DynamoDB


def patch_secret_version_dates() -> None:
    import json

    from moto.secretsmanager.models import SecretsManagerBackend

    def list_secret_version_ids(self: Any, secret_id: str) -> str:
        secret = self.secrets[secret_id]
        versions = [
            {
                "CreatedDate": version["createdate"],
                "LastAccessedDate": version.get("last_accessed_date", version["createdate"]),
                "VersionId": version_id,
                "VersionStages": version["version_stages"],
            }
            for version_id, version in secret.versions.items()
        ]
        return json.dumps({"ARN": secret.secret_id, "Name": secret.name, "NextToken": "", "Versions": versions})

    SecretsManagerBackend.list_secret_version_ids = list_secret_version_ids


def patch_secret_current_label() -> None:
    from moto.secretsmanager.models import SecretsManagerBackend

    update = SecretsManagerBackend.update_secret_version_stage

    def update_secret_version_stage(self: Any, secret_id: str, version_stage: str, remove_from_version_id: str, move_to_version_id: str) -> Any:
        result = update(self, secret_id, version_stage, remove_from_version_id, move_to_version_id)
        if version_stage == "AWSCURRENT" and move_to_version_id:
            self.secrets[secret_id].set_default_version_id(move_to_version_id)
        return result

    SecretsManagerBackend.update_secret_version_stage = update_secret_version_stage


class SerializedDynamoDb:
    def __init__(self, app):
        self.app = app
        self.lock = threading.Lock()

    def __call__(self, environ, start_response):
        if environ.get("HTTP_X_AMZ_TARGET", "").startswith("DynamoDB_"):
            with self.lock:
                # Consume the whole response inside the lock: the work happens while it is produced.
                return list(self.app(environ, start_response))
        return self.app(environ, start_response)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("-H", "--host", default="127.0.0.1")
    parser.add_argument("-p", "--port", type=int, required=True)
    args = parser.parse_args()
    if os.environ.get("WA_REGISTRAR_MOTO_STOCK_SQS") != "1":
        patch_sqs()
    patch_secret_version_dates()
    patch_secret_current_label()
    from werkzeug.serving import run_simple

    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app

    app = DomainDispatcherApplication(create_backend_app)
    run_simple(args.host, args.port, SerializedDynamoDb(app), threaded=True, request_handler=MotoRequestHandler)


if __name__ == "__main__":
    main()
